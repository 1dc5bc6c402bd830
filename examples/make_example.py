#!/usr/bin/env python3
"""Generate the bundled contam example: a 40-item quiz benchmark and a small corpus.

    python examples/make_example.py

writes ``examples/quiz.jsonl`` and ``examples/corpus/``. All text is original: the quiz items
are hand-written, and the corpus prose is composed from the hand-written sentence templates
below (fictional towns, hobby blogs, a village story, personal notes). The seed is fixed and
the gzip/zstd output carries no timestamps, so a rerun rewrites the same bytes.

Planted contamination (every other item is absent by construction):

    quiz-003  verbatim text                                  corpus/web/part-000.jsonl
    quiz-030  verbatim text, in two documents                corpus/web/part-000.jsonl
                                                             corpus/books/chapters.jsonl.zst
    quiz-011  verbatim text followed directly by its answer corpus/web/part-001.jsonl.gz
    quiz-038  verbatim (short item, < 13 words)              corpus/web/part-001.jsonl.gz
    quiz-022  first half of its words only (partial leak)    corpus/books/chapters.jsonl.zst
    quiz-007  UPPER CASE, commas dropped, "?" -> "."         corpus/notes/puzzle-club-minutes.txt
    quiz-015  line-wrapped every 6-8 words                   corpus/notes/revision-diary.txt

Each planted copy sits in the middle of a paragraph, between a lead-in and a follow-up sentence.
Needs only the standard library and ``zstandard``.
"""

# ruff: noqa: E501  (the text pieces are kept one sentence per line)
from __future__ import annotations

import gzip
import json
import random
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

SEED = 20240613
HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------- quiz items
# (text, answer); index i is quiz-{i+1:03d}. Items 37-40 are short (< 13 words).
QUIZ: list[tuple[str, str]] = [
    (
        "A student places a sealed balloon in a freezer for an hour. When she takes it out, the balloon looks smaller. Which statement best explains this? (A) Air leaked through the rubber (B) The gas particles moved more slowly and took up less space (C) The rubber absorbed the air (D) Cold air is heavier than warm air",
        "(B) The gas particles moved more slowly and took up less space",
    ),
    (
        "Which of these events happened first? (A) The fall of the Berlin Wall (B) The first crewed landing on the Moon (C) The end of the Second World War (D) The launch of the satellite Sputnik 1",
        "(C) The end of the Second World War",
    ),
    (
        "A bakery sells muffins in boxes of 6 and boxes of 9. Priya needs exactly 51 muffins for a school fair and wants to use as few boxes as possible. How many boxes should she buy?",
        "6 boxes (five boxes of 9 and one box of 6)",
    ),
    (
        "A single river passes through Vienna, Bratislava, Budapest and Belgrade, more national capitals than any other river. Which river is it? (A) The Rhine (B) The Danube (C) The Elbe (D) The Vistula",
        "(B) The Danube",
    ),
    (
        "In Python, what does the following code print? x = [1, 2, 3]; y = x; y.append(4); print(len(x)) (A) 3 (B) 4 (C) 1 (D) It raises an error",
        "(B) 4",
    ),
    (
        "Which part of a plant cell is mainly responsible for capturing light energy for photosynthesis? (A) The nucleus (B) The cell wall (C) The chloroplast (D) The vacuole",
        "(C) The chloroplast",
    ),
    (
        "A cyclist rides 12 kilometres north, then 5 kilometres east, and stops for lunch. How far is she, in a straight line, from where she started? (A) 13 km (B) 17 km (C) 7 km (D) 15 km",
        "(A) 13 km",
    ),
    (
        "The printing press with movable metal type, developed in Europe in the fifteenth century, is most closely associated with which person? (A) Johannes Gutenberg (B) Leonardo da Vinci (C) Martin Luther (D) Galileo Galilei",
        "(A) Johannes Gutenberg",
    ),
    (
        "Which of the following countries is landlocked, having no coastline on any sea or ocean? (A) Portugal (B) Bolivia (C) Chile (D) Vietnam",
        "(B) Bolivia",
    ),
    (
        "A rectangular garden is 14 metres long and 9 metres wide. A path 1 metre wide runs all the way around the outside of the garden. What is the area of the path in square metres?",
        "50 square metres",
    ),
    (
        "An object is dropped from rest and falls freely for 3 seconds. Taking the acceleration due to gravity as 10 metres per second squared and ignoring air resistance, how fast is it moving at the end of the 3 seconds?",
        "30 metres per second",
    ),
    (
        "Which data structure processes items in first-in, first-out order, so that the element added earliest is the first one removed? (A) Stack (B) Queue (C) Binary search tree (D) Hash table",
        "(B) Queue",
    ),
    (
        "Which civilization built the mountain citadel of Machu Picchu high in the Andes during the fifteenth century? (A) The Aztecs (B) The Maya (C) The Inca (D) The Olmecs",
        "(C) The Inca",
    ),
    (
        "What is the chemical formula of common table salt, the compound formed when sodium reacts with chlorine? (A) NaCl (B) KCl (C) NaCl2 (D) Na2Cl",
        "(A) NaCl",
    ),
    (
        "A library opens at 9:00 and closes at 17:30 on weekdays, and opens at 10:00 and closes at 14:00 on Saturdays. It is closed on Sundays. For how many hours in total is the library open during one full week?",
        "46.5 hours",
    ),
    (
        "Mount Kilimanjaro, the highest mountain on the African continent and a dormant volcano, is located in which country? (A) Kenya (B) Tanzania (C) Uganda (D) Ethiopia",
        "(B) Tanzania",
    ),
    (
        "A shirt originally costs 40 dollars. It is discounted by 25 percent, and then a further 10 percent is taken off the reduced price at the till. What is the final price?",
        "27 dollars",
    ),
    (
        "What is the worst-case time complexity of binary search on a sorted array of n elements? (A) O(1) (B) O(log n) (C) O(n) (D) O(n log n)",
        "(B) O(log n)",
    ),
    (
        "Assuming each sample is at room temperature, through which of the following materials does sound travel fastest? (A) Dry air (B) Fresh water (C) Steel (D) Helium gas",
        "(C) Steel",
    ),
    (
        "Which document, sealed by King John of England in 1215, limited the power of the monarch and is often cited as an early step toward constitutional government? (A) The Bill of Rights (B) Magna Carta (C) The Domesday Book (D) The Act of Union",
        "(B) Magna Carta",
    ),
    (
        "Which line of latitude divides the Earth into the Northern and Southern Hemispheres? (A) The Tropic of Cancer (B) The Prime Meridian (C) The Equator (D) The Arctic Circle",
        "(C) The Equator",
    ),
    (
        "A water tank holds 1,200 litres when full. One pipe fills the empty tank in 6 hours, while a drain at the bottom empties a full tank in 10 hours. If the tank starts empty and both the pipe and the drain are open, how long does it take to fill?",
        "15 hours",
    ),
    (
        "Which type of rock is formed when molten magma cools and solidifies, either underground or after erupting from a volcano? (A) Sedimentary (B) Metamorphic (C) Igneous (D) Limestone",
        "(C) Igneous",
    ),
    (
        "In SQL, which clause filters the groups produced by GROUP BY, for example to keep only departments with more than five employees? (A) WHERE (B) HAVING (C) ORDER BY (D) LIMIT",
        "(B) HAVING",
    ),
    (
        "The Silk Road was a network of trade routes that for many centuries connected which two broad regions? (A) China and the Mediterranean world (B) Scandinavia and West Africa (C) Australia and South America (D) Canada and Siberia",
        "(A) China and the Mediterranean world",
    ),
    (
        "The average of five numbers is 18. When a sixth number is added to the list, the average of all six numbers becomes 20. What is the sixth number?",
        "30",
    ),
    (
        "Why do we always see the same side of the Moon from Earth? (A) The Moon does not rotate (B) The Moon rotates once for each orbit it makes around Earth (C) Earth blocks the other side (D) The far side reflects no sunlight",
        "(B) The Moon rotates once for each orbit it makes around Earth",
    ),
    (
        "Which desert, covering a large part of northern Africa, is the largest hot desert in the world? (A) The Gobi (B) The Kalahari (C) The Sahara (D) The Atacama",
        "(C) The Sahara",
    ),
    (
        "A function calls itself with a smaller input each time and stops when the input reaches zero. What is the condition that stops the repeated calls usually called? (A) The base case (B) The loop invariant (C) The return type (D) The stack frame",
        "(A) The base case",
    ),
    (
        "Which scientist set out the three laws of motion and the law of universal gravitation in a book published in 1687? (A) Isaac Newton (B) Albert Einstein (C) Nicolaus Copernicus (D) Michael Faraday",
        "(A) Isaac Newton",
    ),
    (
        "A solution has a pH of 3. Compared with pure water at 25 degrees Celsius, how would this solution be described? (A) Strongly basic (B) Neutral (C) Acidic (D) Slightly basic",
        "(C) Acidic",
    ),
    (
        "Two trains start 300 kilometres apart and travel toward each other on parallel tracks, one at 70 kilometres per hour and the other at 80 kilometres per hour. After how many hours do they meet?",
        "2 hours",
    ),
    (
        "In which century did the French Revolution begin with the storming of the Bastille prison in Paris? (A) The sixteenth century (B) The seventeenth century (C) The eighteenth century (D) The nineteenth century",
        "(C) The eighteenth century",
    ),
    (
        "In both Chinese and Japanese writing, the character 山 began as a small picture. Which of these things does the character 山 stand for? (A) River (B) Mountain (C) Fire (D) Tree",
        "(B) Mountain",
    ),
    (
        'A beginner writes console.log(typeof null) in a JavaScript program, expecting to see null. What string is actually printed? (A) "null" (B) "undefined" (C) "object" (D) "boolean"',
        '(C) "object"',
    ),
    (
        "Which organ of the human body produces insulin, the hormone that helps regulate the level of sugar in the blood? (A) The liver (B) The pancreas (C) The kidneys (D) The stomach",
        "(B) The pancreas",
    ),
    ("What is the name of Saturn's largest moon?", "Titan"),
    ("Which metal is liquid at ordinary room temperature?", "Mercury"),
    ("How many sides does a regular hexagon have?", "Six"),
    ("Which programming language did Guido van Rossum create?", "Python"),
]

# --------------------------------------------------------------------------- vocabulary
# A slot not fixed by the document's context is drawn from here afresh for each sentence.
WORDS: dict[str, list[str]] = {
    "friend": [
        "Tom",
        "Ines",
        "Marek",
        "Ruth",
        "Dev",
        "Ada",
        "Felix",
        "Noor",
        "Oskar",
        "Greta",
        "Sami",
        "Lotte",
        "Bryn",
        "Hana",
    ],
    "month": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
    "weather": ["grey", "bright", "blustery", "damp", "mild", "raw", "still", "cold"],
    "tree": ["oak", "ash", "beech", "birch", "alder", "rowan", "sycamore"],
    "bird_pl": ["buzzards", "kestrels", "ravens", "red kites", "curlews", "skylarks"],
    "veg": ["potatoes", "onions", "broad beans", "carrots", "leeks", "beetroot"],
    "seed": ["sunflower seeds", "toasted oats", "caraway seeds", "chopped walnuts", "linseed"],
    "bread": ["soda bread", "dark rye bread", "warm brown bread", "cheese scone"],
    "num": ["two", "three", "four", "five"],
    "season": ["winter", "spring", "autumn"],
    "pub": ["Three Crowns", "Ship and Anchor", "Drovers Arms", "Fox and Fiddle", "Old Ferry"],
    "place_ordinal": ["second", "third", "fourth", "fifth", "seventh"],
    "num_teams": ["nine", "eleven", "twelve", "fourteen"],
    "place": ["Harrowby", "Colwick", "Stanmere", "Fenholme", "Ashcombe", "Wyford"],
}

# --------------------------------------------------------------------------- town entries
TOWN_OPENERS = [
    "{town} is a market town in the {region} district, set on the {bank} bank of the River {river} about {km} kilometres {dir} of {city}.",
    "{town} is a small town and civil parish in {region}, lying where the River {river} leaves the hills and widens into a broad, flat valley.",
    "{town} is a former mill town on the River {river}, roughly {km} kilometres {dir} of the regional centre at {city}.",
    "{town} is a town in the {region} district, built around a crossing of the River {river} on the old road from {city} to the coast.",
]
TOWN_LEAD = [
    "At the most recent census it had a population of {pop}, a figure that has changed little over the past two decades.",
    "The name is usually explained as meaning a farmstead by the ford, although local historians have proposed several other readings.",
    "The town is best known today for its {known_for}, which draws visitors from across the region in the summer months.",
    "It serves as the main shopping and service centre for a scattering of villages and farms in the surrounding countryside.",
    "Much of the old centre is protected as a conservation area, and more than {n_listed} buildings are listed for their architectural interest.",
]
TOWN_HISTORY = [
    "The earliest written record of a settlement here dates from {year_early}, when it appears in a list of holdings belonging to a nearby abbey.",
    "For most of the medieval period it remained a modest farming village, with a chapel, a mill and a handful of cottages clustered around the ford.",
    "A royal charter granted in {year_charter} allowed the townspeople to hold a weekly market and an annual fair, and the place grew steadily from then on.",
    "A serious fire in {year_fire} destroyed much of the timber-framed high street, which was rebuilt in brick and stone over the following decade.",
    "In the {century} century the river was harnessed to drive mills, and the town became known for the manufacture of {product}.",
    "A local antiquarian, {antiquarian}, gathered many of the town's older documents in the nineteenth century, and those notebooks remain a key source for historians.",
    "The arrival of the railway in {year_rail} transformed the local economy, making it possible to send goods to {city} in a single afternoon.",
    "Several of the old mills closed during the depression of the early twentieth century, and the population fell for the first time in two hundred years.",
    "During the Second World War the town received hundreds of evacuated children, many of whom stayed with local families for several years.",
    "After the war new housing estates were built on the northern edge of the town, and a small industrial park followed in the nineteen seventies.",
]
TOWN_ECONOMY = [
    "Today the largest employers are the district hospital, a {industry} firm and the secondary school.",
    "Agriculture remains important in the surrounding area, with dairy farming on the lower ground and sheep on the hills above the town.",
    "Tourism has grown steadily since the restoration of the old {landmark}, and the town now has several guest houses and a small campsite.",
    "A market is still held in the square every {weekday}, selling local cheese, vegetables, plants and second-hand books.",
    "Many residents commute to {city} for work, a journey of around {minutes} minutes by train.",
    "A number of small workshops occupy the former mill buildings, including a furniture maker, a printer and a bicycle repairer.",
    "The closure of the last {product} works in {year_close} led to a period of high unemployment, but the site has since been redeveloped for housing and offices.",
    "The high street keeps an unusual number of independent shops, which the town council has worked hard to protect.",
]
TOWN_GEOGRAPHY = [
    "The town occupies a shallow bowl in the hills, and the older streets climb steeply from the river to the parish church.",
    "The River {river} is prone to flooding in late winter, and a series of embankments was built along the lower town in the nineteen sixties.",
    "To the {dir2} lies an area of open heath that is managed as a nature reserve and is home to {bird_pl} and several uncommon plants.",
    "The climate is mild and damp, with most rain falling between October and January and occasional snow on the higher ground.",
    "Much of the surrounding land is underlain by {rock}, which was quarried locally and gives the older buildings their distinctive colour.",
    "A network of footpaths links the town with the neighbouring villages, and a long-distance walking route follows the ridge to the {dir2}.",
]
TOWN_CULTURE = [
    "The parish church of St {saint} dates largely from the fourteenth century, although parts of the tower are older.",
    "Every {festival_month} the town holds {festival}, which began as a small gathering in a pub yard and now fills the main square.",
    "The public library occupies a former corn exchange, and its reading room is hung with paintings of the river by a local artist.",
    "A small museum in the old courthouse tells the story of the town's mills, with working models of a water wheel and a loom.",
    "The town has a brass band, an amateur dramatic society and a football club whose ground sits beside the river.",
    "A well-known folk song describes a ferryman of {town} who refused to carry a tax collector across the water during a storm.",
    "The annual raft race, in which teams build craft from barrels and planks, raises money for the hospital and the mountain rescue team.",
]
TOWN_TRANSPORT = [
    "{town} station lies on the line between {city} and the coast, with trains roughly every hour in each direction.",
    "The main road through the town was bypassed in {year_bypass}, which greatly reduced traffic in the narrow high street.",
    "A stone bridge of {n_arches} arches carries the old road across the River {river} and is one of the oldest surviving structures in the district.",
    "Buses connect the town with the surrounding villages, although services are infrequent in the evenings and on Sundays.",
    "A disused branch line to the quarries has been turned into a cycle path that runs for about {km2} kilometres along the valley.",
]
TOWN_PARTS = (
    [
        "Ash",
        "Bram",
        "Coll",
        "Dun",
        "Elm",
        "Fen",
        "Gar",
        "Hol",
        "Kirk",
        "Lang",
        "Mar",
        "Nor",
        "Pen",
        "Ros",
        "Stan",
        "Thorn",
        "Wester",
        "Yar",
        "Crom",
        "Brad",
    ],
    [
        "ford",
        "by",
        "wick",
        "ham",
        "ton",
        "mere",
        "well",
        "stead",
        "bridge",
        "holme",
        "combe",
        "ley",
    ],
)
TOWN_VOCAB: dict[str, list[str]] = {
    "river": [
        "Averle",
        "Brenna",
        "Callow",
        "Derrin",
        "Esker",
        "Fallow",
        "Lissen",
        "Medder",
        "Orrin",
        "Tamsey",
        "Wendle",
    ],
    "region": ["Northmoor", "Lower Vale", "Eastmarch", "Saltmarsh", "High Weald", "Greyhills"],
    "city": ["Aldermouth", "Brackenport", "Stallbridge", "Westhaven", "Corvley"],
    "bank": ["north", "south", "east", "west"],
    "dir": [
        "north",
        "south",
        "east",
        "west",
        "north-east",
        "south-west",
        "north-west",
        "south-east",
    ],
    "dir2": ["north", "south", "east", "west"],
    "known_for": [
        "Saturday market",
        "riverside walks",
        "medieval bridge",
        "cheese fair",
        "restored watermill",
    ],
    "product": ["woollen cloth", "paper", "leather gloves", "rope", "felt hats", "linen"],
    "industry": ["engineering", "food packaging", "printing", "software", "furniture"],
    "landmark": ["watermill", "canal basin", "castle gatehouse", "market hall", "railway viaduct"],
    "festival": [
        "a music festival",
        "a lantern procession",
        "a cheese and cider fair",
        "a kite festival",
        "a folk dance weekend",
    ],
    "saint": ["Michael", "Anne", "Peter", "Margaret", "Lawrence", "Cuthbert"],
    "rock": ["red sandstone", "pale limestone", "grey granite", "dark slate"],
    "century": ["late seventeenth", "eighteenth"],
    "antiquarian": ["Josiah Penrose", "Eliza Marchbank", "Thomas Greaves", "Harriet Lisle"],
    "n_arches": ["three", "four", "five", "seven"],
}

# --------------------------------------------------------------------------- blog posts
BLOG_OPENERS = [
    "It has been a while since I last wrote anything here, so this post is a bit of a catch-up.",
    "A few people asked me after the last post how things were going, so here is an update.",
    "This is going to be a long one, so make a cup of tea before you start.",
    "I have been meaning to write this up for weeks, and a rainy {weekday} finally gave me the excuse.",
    "Regular readers will know that I tend to start projects with a lot of enthusiasm and finish them rather more slowly.",
    "{month} has been a busy month, and most of it has been spent on the subject of this post.",
]
BLOG_CLOSERS = [
    "That is all for now; I will post an update once there is something worth reporting.",
    "If you have tried something similar, I would love to hear how it went, so do leave a comment below.",
    "Next time I hope to write about what went wrong, which is usually the more useful half of the story.",
    "Thanks for reading, and thanks especially to {friend}, who put up with a great deal of talk about all this.",
    "As always, none of this is expert advice, just notes from someone learning as they go.",
]
BLOG_ASIDES = [
    "Looking back, I should have started with something much smaller.",
    "It is easy to forget how much you learn from the mistakes, even when they are annoying at the time.",
    "I am not sure that was the right decision, but it felt right at the time.",
    "None of this happened quickly, and there were plenty of weeks when nothing seemed to move forward at all.",
    "I find that writing these posts helps me notice progress that would otherwise go unremarked.",
    "The weather, as usual, had its own ideas about the schedule.",
    "A cup of tea and a quiet half hour solved more problems than any amount of rushing.",
    "{friend} pointed out that I had been making the same mistake for weeks, which was both helpful and slightly embarrassing.",
    "There is a lot of advice online, and much of it contradicts the rest.",
    "Sometimes the simplest approach really is the best one.",
    "I did not take as many photographs as I meant to, so you will have to take my word for most of this.",
    "By the end of {month} things were looking much more hopeful.",
    "Progress has been slower than I hoped, but it has been steady.",
    "The cost so far has been modest, which is just as well.",
    "It turns out that patience is a skill like any other, and it improves with practice.",
    "Several readers sent helpful suggestions after the last post, and I have tried to take them on board.",
]
# topic -> (blog name, titles, sentences in rough narrative order)
BLOG_TOPICS: dict[str, tuple[str, list[str], list[str]]] = {
    "garden": (
        "plot-fourteen",
        [
            "Notes from the allotment",
            "Slugs, beans and a leaking shed",
            "The end of the growing year",
        ],
        [
            "The allotment is a narrow strip of ground at the far end of the site, next to the water trough and an old {tree}.",
            "When I took it on, it was waist-high in brambles and couch grass, and the shed had lost half its roof.",
            "I spent most of the first winter digging, which was slow, muddy and oddly satisfying.",
            "This year I have tried to be more organised, with a simple plan drawn on squared paper and pinned inside the shed door.",
            "The {veg} went in during the second week of {month}, a little later than the packet recommends, because the soil was still cold and wet.",
            "Slugs remain the main enemy, and I have lost count of the evenings spent walking the rows with a torch.",
            "My neighbour on the next plot, {friend}, swears by a ring of crushed eggshells around each seedling, though I am not convinced it does much.",
            "The compost heaps are finally working properly, after I learned to mix in more cardboard and turn them every few weeks.",
            "A dry spell in early summer meant carrying water from the trough twice a day, which is good exercise if nothing else.",
            "The beans were the surprise success of the year, climbing well above the top of the canes and cropping for weeks.",
            "By late summer there was more produce than we could eat, so a lot of it went to friends and to the food bank box at the gate.",
            "I have started keeping a notebook of sowing dates and results, which already makes next year's decisions easier.",
            "The site committee has asked everyone to leave a strip of wild flowers along the paths, and the bees seem to approve.",
            "In the autumn I covered the empty beds with a thick layer of leaves and old cardboard to keep the weeds down over winter.",
        ],
    ),
    "bread": (
        "slow-loaf",
        ["Learning to bake bread", "A year of sourdough", "Why my loaves spread sideways"],
        [
            "I started baking bread during a long wet winter, mostly because the bakery in the village had closed.",
            "My first loaves were dense enough to use as doorstops, and the family were polite about them for about a week.",
            "The turning point was learning to measure everything by weight rather than by cups and spoons.",
            "A cheap set of kitchen scales has done more for my baking than any book or gadget.",
            "I keep a sourdough starter in a jar on the shelf above the kettle, and feed it with flour and water every evening.",
            "The starter is named after {friend}, who gave me the first spoonful of it in an old jam jar.",
            "A slow overnight rise in a cool kitchen gives a much better flavour than a quick rise in a warm one.",
            "Shaping is still the part I find hardest, and my loaves tend to spread sideways rather than rise upwards.",
            "Baking in a heavy lidded pot traps the steam for the first part of the bake and gives a thin, crackling crust.",
            "This week I tried adding a handful of {seed} to the dough, which worked well and made the kitchen smell wonderful.",
            "The crumb was more open than usual, with a few large holes that made it hopeless for sandwiches but lovely with soup.",
            "I now bake two loaves every {weekday} and slice one for the freezer, which saves a surprising amount of money.",
            "Failed loaves are never wasted: they become breadcrumbs, croutons or a rather good bread pudding.",
            "If I had one piece of advice for a beginner, it would be to bake the same simple recipe ten times before trying anything clever.",
        ],
    ),
    "cycling": (
        "two-wheels-slowly",
        ["To the coast by bicycle", "Three days, one puncture", "A long ride in the rain"],
        [
            "The plan was simple: ride from {place} to the coast over {num} days, staying in small guest houses along the way.",
            "I packed far too much, as usual, and spent the first evening posting a parcel of spare clothes back home.",
            "The first day followed quiet lanes along the valley floor, with the river never far away on the left.",
            "A long climb after lunch reduced me to walking, which I have decided is nothing to be ashamed of.",
            "The view from the top made up for it: a patchwork of fields, hedges and woodland stretching away to the hills.",
            "On the second morning it rained steadily from breakfast until mid afternoon, and everything I owned was soaked.",
            "A farmer let me shelter in a barn while the worst of a storm passed, and then insisted on making me a mug of tea.",
            "I had one puncture, on a stretch of gravel track that the map had described rather optimistically as a road.",
            "Mending it at the roadside took twenty minutes, mostly because I had packed the spare tube at the very bottom of the bag.",
            "The best meal of the trip was a bowl of soup and {bread} in a village cafe run by two retired teachers.",
            "The final descent to the sea was long, smooth and exhilarating, the kind of road you remember for years.",
            "In all I covered about {distance} kilometres, which is not far by the standards of serious tourers but felt like a triumph to me.",
            "Next year I would like to try a longer route, perhaps with {friend}, who has been threatening to come along for ages.",
            "The bike held up well, though the back brake needs new pads and the chain could do with a thorough clean.",
        ],
    ),
    "repair": (
        "second-life-workshop",
        ["Rescuing an old {furniture}", "A house clearance bargain", "Glue, clamps and patience"],
        [
            "The old {furniture} came from a house clearance sale and cost less than a takeaway pizza.",
            "It had clearly spent years in a damp garage, and one of the joints had worked loose.",
            "The first job was to take everything apart carefully, photographing each stage so I would know how it went back together.",
            "Labelling the parts with strips of masking tape saved a great deal of confusion later.",
            "Years of grime came off with warm soapy water and a soft brush, revealing a surprisingly good finish underneath.",
            "The loose joint needed cleaning out and regluing, and I borrowed {num} clamps from {friend} to hold it while it set.",
            "I made the mistake of sanding one panel too hard and went straight through the veneer in one corner.",
            "A patient evening with a small brush and some wood filler hid the damage well enough that only I know where it is.",
            "The original brass handles were too tarnished to save, so I ordered replacements of a similar pattern.",
            "Two coats of wax and a lot of buffing brought back a soft, warm shine.",
            "The whole project took about {num} weekends, far longer than I expected, but most of that was waiting for glue and finish to dry.",
            "It now sits in the hallway, and visitors are usually surprised to hear that it was nearly thrown away.",
            "The lesson, as always, is that slow and careful work beats fast and clever work almost every time.",
        ],
    ),
    "language": (
        "one-word-at-a-time",
        [
            "A year of learning {language}",
            "Talking to strangers in {language}",
            "Verb endings and other mysteries",
        ],
        [
            "I have been learning {language} for about a year now, mostly for half an hour in the mornings before work.",
            "The motivation was a trip planned with {friend}, and a slight embarrassment at always relying on others to order food.",
            "For the first few months I used an app, which was fun but left me unable to hold even a short conversation.",
            "Things changed when I found a weekly conversation group that meets in the back room of the library.",
            "The group is a mix of beginners and native speakers, and the atmosphere is friendly enough that nobody minds mistakes.",
            "Listening is still much harder than reading, especially when people speak quickly or drop the ends of their words.",
            "I have started watching children's television with the subtitles on, which is humbling but genuinely useful.",
            "Keeping a small diary in the language, a few lines each night, has helped more than any list of vocabulary.",
            "Verb endings remain a mystery that I expect to be solving for the rest of my life.",
            "The best moment so far was asking for directions in a small town and understanding every word of the reply.",
            "Next month I plan to sit a short speaking exam, mostly to give myself a deadline to work towards.",
            "If you are thinking of starting, my advice is to find real people to talk to as early as you can.",
        ],
    ),
    "coding": (
        "evening-projects",
        [
            "A catalogue for our books",
            "Rewriting a small script",
            "The bookshelf project, part two",
        ],
        [
            "This project started as a small script to keep track of the books in our house, which had outgrown every shelf.",
            "The first version was a single file that read a spreadsheet and printed a list sorted by author.",
            "It worked, but adding anything new meant changing code in several places at once, which is usually a bad sign.",
            "I rewrote it over a few evenings, splitting it into small functions that each did one job.",
            "Writing tests for the awkward cases, such as authors who share a surname, caught two bugs straight away.",
            "The hardest part was cleaning up the data: the same publisher appeared under half a dozen different spellings.",
            "A friend, {friend}, suggested keeping everything in a small database instead of the spreadsheet, and that turned out to be good advice.",
            "I added a simple search page that runs on the home network, so anyone in the house can check whether we already own a book.",
            "The search is not clever, but it is fast enough, and it has already stopped us from buying the same novel twice.",
            "Most of my time went on small details, like making the page readable on a phone and coping with missing cover images.",
            "The code is not beautiful, but it is short, tested and easy to change, which matters more to me now.",
            "Next on the list is a way to record which books have been lent out and to whom.",
            "It is funny how a tiny personal project can teach more than a large one at work, simply because every decision is your own.",
        ],
    ),
    "hiking": (
        "muddy-boots",
        ["Over the tops from {place}", "A long day on the ridge", "Two lakes and a lost path"],
        [
            "We set off from the car park at {place} just after eight, with a forecast of sunshine and a light westerly breeze.",
            "The path climbed steadily through {tree} woodland before breaking out onto open moorland.",
            "A pair of {bird_pl} circled above the ridge for most of the morning.",
            "At the summit cairn we stopped for coffee and sandwiches and tried to name the distant hills.",
            "The descent was steeper than expected, and loose stones made it slow going in places.",
            "We lost the path briefly near a ruined sheepfold and had to check the map more carefully than we would like to admit.",
            "The stream crossing at the bottom was easy after a dry week, though I can imagine it being difficult after rain.",
            "In total the walk was about {distance} kilometres with a fair amount of climbing, and it took us most of the day.",
            "We finished at a small pub where the landlord let us leave our muddy boots in the porch.",
            "My knees complained for two days afterwards, which is probably a sign that I should walk more often.",
            "{friend} took dozens of photographs, and a few of them are good enough to frame.",
            "We are already planning the next one, a longer circuit that takes in the two lakes on the far side of the valley.",
        ],
    ),
    "birds": (
        "window-on-the-garden",
        ["Who came to the feeders", "A morning on the estuary", "Learning birdsong, slowly"],
        [
            "The feeders in the back garden have been busier than ever this {season}.",
            "Most mornings start with a squabble of sparrows, followed by a robin that waits patiently for the crumbs they drop.",
            "A family of long-tailed tits now visits the bird table every afternoon, which is a first for this garden.",
            "I keep a simple tally on the kitchen calendar, and the totals for {month} were the highest since I started.",
            "The local nature group runs a guided walk along the estuary every month, and I finally joined one.",
            "The leader had an extraordinary ear and could pick out a distant call over the noise of wind and water.",
            "We saw wading birds feeding on the mud as the tide went out, moving together like a single shape.",
            "Later a pair of {bird_pl} drifted over the saltmarsh, and the whole group stopped talking to watch them.",
            "I have learned to carry a notebook and write down what I see before checking the guide, not after.",
            "Identifying birds by song is still beyond me, but I can now manage a handful of the commonest ones.",
            "A hedge of native shrubs that we planted three years ago now gives food and shelter to all sorts of small birds.",
            "If you want to start, a cheap pair of binoculars and a bird table in view of a window are all you need.",
        ],
    ),
    "tutoring": (
        "homework-club",
        [
            "Tuesday nights at the homework club",
            "Reading the question first",
            "What the worksheets miss",
        ],
        [
            "I spend two evenings a week helping children from the estate with their maths homework at the community centre.",
            "Most of the children are bright and keen, but many have gaps in the basics that make every new topic harder.",
            "The most common problem is not arithmetic but reading carefully and deciding what is actually being asked.",
            "I have started asking them to explain the problem to me in their own words before they write anything down.",
            "Drawing a quick sketch helps enormously, especially with anything involving distances, areas or shapes.",
            "Worksheets from school tend to pile up unfinished, so we pick one or two problems and do them properly instead.",
            "A good session is one where the child leaves feeling that they worked something out, rather than being told it.",
            "Some weeks nothing goes right, and we end up talking about football or pets instead, which is fine too.",
            "Parents sometimes apologise for not being able to help at home, though many of them were never taught this way themselves.",
            "The centre has very few resources, but a whiteboard, some squared paper and a box of pencils go a long way.",
            "It is a real pleasure to see a child who struggled in the autumn working confidently through a page by the spring.",
        ],
    ),
    "quiz": (
        "quiz-team-four",
        ["Quiz night at the {pub}", "Another narrow defeat", "The picture round strikes again"],
        [
            "Once a month our local, the {pub}, runs a quiz night to raise money for the village hall roof.",
            "Our team has the same four regulars and a rotating fifth member, usually whoever we can persuade on the day.",
            "The quizmaster is a retired geography teacher who takes the whole thing very seriously and tolerates no phones.",
            "There are usually six rounds, including a picture round, a music round and a general knowledge round at the end.",
            "We are strong on history and food, hopeless on sport, and unreliable on anything involving pop music after about 1990.",
            "The picture round this time was a set of close-up photographs of everyday objects, and we managed to name only half of them.",
            "Arguments over the answer sheet can become heated, and more than once the quietest member of the team has turned out to be right.",
            "We finished {place_ordinal} out of {num_teams} teams, which for us counts as a good night.",
            "The prize was a voucher for the bar and a large tin of biscuits, which did not survive the walk home.",
            "Whatever the result, it is a cheerful evening out, and the hall roof fund grows a little every month.",
        ],
    ),
}
BLOG_VOCAB: dict[str, list[str]] = {
    "language": ["Portuguese", "Welsh", "Polish", "Italian", "Dutch", "Greek"],
    "furniture": ["chest of drawers", "writing desk", "oak sideboard", "pine dresser"],
    "distance": ["160", "210", "240", "18", "22", "26"],
}

# --------------------------------------------------------------------------- the story
STORY_CAST = {
    "hero": "Nell",
    "mentor": "old Tobias",
    "Mentor": "Old Tobias",
    "friend": "Kit",
    "elder": "Mrs Pardoe",
    "village": "Merrow",
    "boat": "Curlew",
}
STORY_SCENES: dict[str, list[str]] = {
    "morning": [
        "The morning came in grey and still, with a thin mist lying over the harbour.",
        "{hero} woke before dawn to the sound of gulls quarrelling on the roof.",
        "By the time the sun cleared the headland, the tide was already turning.",
        "The kitchen was cold, and {hero} stood by the stove with both hands around a mug until the warmth came back into them.",
        "Outside, the fishing boats were returning one by one, low in the water and trailing a cloud of birds.",
        "It was the kind of {weather} morning that made the whole village seem to move more slowly.",
        "Somewhere down the lane a dog was barking at nothing in particular.",
        "{hero} pulled on the heavy boots that had once belonged to an uncle and went out into the yard.",
        "The air smelled of salt, tar and wood smoke.",
        "A cart rattled past on its way to the quay, loaded with crates of empty bottles.",
    ],
    "workshop": [
        "The workshop stood at the end of the slipway, a long shed of tarred planks that leaned slightly towards the sea.",
        "Inside, the half-built hull of the {boat} rested on its blocks like the ribcage of some great animal.",
        "{Mentor} was already at work, planing a length of larch with long, unhurried strokes.",
        '"You are late," {mentor} said without looking up, though it was barely light.',
        "{hero} swept the shavings into a pile and laid out the tools in the order they would be needed.",
        "There was a rhythm to the work that {hero} had only lately begun to feel: measure, mark, cut, fit, and measure again.",
        "The new plank refused to sit flat against the frames, and they spent an hour steaming and coaxing it into place.",
        '"Wood has its own opinions," {mentor} said. "Your job is to listen to them."',
        "By noon the sheer line of the hull was clear for the first time, a single sweeping curve from bow to stern.",
        "{Mentor} ran a hand along it and nodded, which from him was high praise.",
        "They ate bread and cheese sitting on an upturned barrel, watching the light move across the water.",
        "In the afternoon {hero} was sent to the chandler for copper nails and a tin of linseed oil.",
    ],
    "village": [
        "The village of {village} climbed the hillside in uneven terraces, its cottages painted in faded blues and yellows.",
        "The chandler's shop was dark and crowded, and smelled of rope, paraffin and old paper.",
        "{elder} was behind the counter as always, reading a newspaper that was at least three days old.",
        '"You will be wanting the long nails, I suppose," {elder} said, before {hero} had said a word.',
        "News travelled quickly in {village}, and everyone seemed to know already that the {boat} was nearly finished.",
        "Outside the post office, two old men were arguing about the weather with the confidence of people who had watched it all their lives.",
        "{friend} was sitting on the harbour wall, mending a net and whistling a tune that never quite arrived at its end.",
        '"There is a meeting in the hall tonight," {friend} said. "About the lifeboat. You should come."',
        "Children ran along the quay, daring each other to jump from the steps into the cold green water.",
        "The church clock struck the hour, a little behind the time, as it had been for as long as anyone could remember.",
        "{hero} took the long way back, past the lime kilns and the row of upturned boats on the shingle.",
    ],
    "storm": [
        "By evening the wind had swung round to the north-east, and the sky over the sea turned the colour of slate.",
        "The first heavy drops of rain struck the windows like thrown gravel.",
        "Down at the harbour, men were doubling the moorings and dragging the smaller boats higher up the slipway.",
        "{Mentor} stood at the workshop door, watching the water with an expression {hero} had never seen before.",
        '"We will need to lash the hull down," {mentor} said. "If the roof goes, I do not want her going with it."',
        "They worked by lantern light, passing ropes over the frames and making them fast to iron rings set into the floor.",
        "The noise was tremendous: wind in the rigging, rain on the roof, and the deep boom of waves against the harbour wall.",
        "At some point in the night a slate came off the chandler's roof and shattered in the street below.",
        "Neither of them slept, and when the grey light finally came, the storm had blown itself out.",
        "The hull was untouched, though the yard was littered with seaweed, broken crates and a single drowned boot.",
    ],
    "hall": [
        "The village hall was full by seven, and the air inside was thick with damp coats and pipe smoke.",
        "Rows of folding chairs faced a trestle table, behind which the committee sat looking solemn.",
        "The lifeboat fund was short of money again, and every idea for raising more had been tried at least twice.",
        "It was {friend} who suggested a quiz, standing up at the back and turning red as every head turned.",
        "The idea was taken up with more enthusiasm than anyone expected, and a date was set before the tea urn was empty.",
        "On the night of the quiz, teams crowded around small tables, each with a pencil, a sheet of paper and a fierce sense of pride.",
        "{Mentor} had been persuaded to read the questions, on the grounds that nobody would dare argue with him.",
        "The questions had been gathered from all over the village, written on cards in a dozen different hands.",
        "Some were easy and some were fiendish, and a few had answers that even their authors were no longer sure of.",
        "The fishermen's team, loud and confident, fell apart entirely on the science round.",
        "{elder} led a team of three retired schoolteachers who conferred on every answer in a whisper.",
        "By the interval the scores were close, and the tea and buns disappeared at an alarming rate.",
        "In the end the prize, a cake in the shape of a lifeboat, went to a team of teenagers who could hardly believe it.",
        "The collection tin, when it was emptied on the table, held more than the fund had raised in the whole of the previous year.",
    ],
    "memory": [
        "{hero} had come to {village} three years earlier, with a single bag and no clear idea of what to do next.",
        "{Mentor} had taken {hero} on as an apprentice almost by accident, after a conversation about knots on the quay.",
        "In those first months {hero} had done little but sweep floors, sharpen tools and watch.",
        "Slowly the watching had turned into understanding, and the understanding into something like skill.",
        "{Mentor} rarely talked about the past, but now and then a story would slip out: a wreck, a rescue, a brother lost at sea.",
        "The village had been kinder than {hero} expected, in its gruff and watchful way.",
        "There were days when the city and its noise seemed like something from another life altogether.",
    ],
    "evening": [
        "That night {hero} sat by the window for a long time, watching the lights of the boats far out on the water.",
        "The house was quiet except for the tick of the clock and the small sounds of the fire settling.",
        "{hero} thought about the {boat}, and about the day, not so far off now, when she would go down the slipway into the sea.",
        "There was a letter on the table from the city, unopened, and {hero} left it where it lay.",
        "Sleep came slowly, full of half-finished dreams of wind and wood.",
        "Somewhere below, the tide was coming in again, patient and unhurried, the way it always had.",
        "{hero} wrote a few lines in the notebook by the bed, as had become a habit, and then blew out the candle.",
        "The last thing {hero} heard was the foghorn at the point, sounding its slow, sad note across the bay.",
    ],
}

# --------------------------------------------------------------------------- notes
NOTES: dict[str, tuple[str, list[str]]] = {
    "reading-group.txt": (
        "Reading group notes, {month}",
        [
            "Eight of us this time, in the back room of the cafe on the square.",
            "The cafe had moved our usual table to make room for a birthday party, so we squeezed into the corner by the window.",
            "The book was a long novel about three generations of a family who run a small hotel on the coast.",
            "Most of us enjoyed the first half and found the second half slow, though {friend} loved every page.",
            "One member had listened to the audiobook instead, and said the narrator made the father sound far kinder than he reads on the page.",
            "A map of the coastline had been brought along so we could follow the family's journeys, which turned out to be very helpful.",
            "There was a lively argument about the grandmother, whom some found cruel and others thought simply practical.",
            "Several people said the descriptions of the sea were the best thing in the book.",
            "We spent some time on the middle section, set during the war, which most of us thought was the strongest part.",
            "A few people found the jumps between decades confusing and wished the chapters had dates at the top.",
            "The ending divided the room completely: half thought it was perfect, and half felt cheated.",
            "We talked for a while about whether a novel needs likeable characters, and decided that it does not, but it helps.",
            "Someone pointed out how little the characters ever say directly to each other, and how much is left to silence.",
            "Someone asked whether the hotel was based on a real place, and nobody knew, though we all had a favourite guess.",
            "Scores out of ten ranged from four to nine, with an average of a little under seven.",
            "For next time we have chosen a much shorter book, a collection of stories set in a mountain village.",
            "There was a suggestion that we try a play next, read aloud with parts, which got a mixed reception.",
            "Tea, coffee and a remarkable lemon cake were provided by the cafe, which now gives us a small discount.",
            "Attendance this year has been steady, and two new members joined after seeing the notice at the library.",
            "We agreed to keep meeting on the first {weekday} of the month, at half past seven.",
            "Books suggested for the spring list included a travel memoir, a detective story and a history of the local canal.",
        ],
    ),
    "revision-diary.txt": (
        "Revision diary, {month}",
        [
            "Exams start in five weeks, which sounds like a long time and is not.",
            "Made a timetable with a colour for each subject; it took an hour, which is probably its own kind of procrastination.",
            "Did two hours of chemistry before lunch, mostly balancing equations, and they are finally starting to make sense.",
            "Physics past paper in the afternoon: the motion questions were fine, but circuits still catch me out.",
            "Slept badly and started late, but managed an hour of French vocabulary on the bus.",
            "Walked to the shop with {friend} to clear my head, and we tested each other on history dates the whole way.",
            "Spent the afternoon redoing my chemistry notes as diagrams, which is slower but sticks much better.",
            "History is mostly about remembering which things caused which other things, and in what order.",
            "Tried the method where you explain a topic out loud to an empty chair, which felt silly but works.",
            "Maths practice on percentages, ratios and a lot of word problems, which are really reading problems in disguise.",
            "Lost most of the evening to one geometry problem and then found a mistake in the very first line.",
            "Group call with {friend} and two others to go through a past paper; we disagreed about three answers and were all wrong about one.",
            "Took the whole of {weekday} off, as the timetable says, and felt guilty about it until about lunchtime.",
            "Mum says I should stop at nine and go for a walk, and she is probably right.",
            "Flashcards for biology vocabulary are going well; I have about two hundred now, held together with a rubber band.",
            "Bad day: could not concentrate on anything and ended up reorganising my desk instead.",
            "Good day: finished a whole past paper in timed conditions and got a mark I would be happy with in the real thing.",
            "Went for a run before breakfast, which helped more than I expected with concentrating afterwards.",
            "Note to self: read everything twice, underline what is wanted, and check the units at the end.",
            "Teacher's advice: spend the first five minutes of any exam reading the whole paper and planning the time.",
            "Wrote an essay plan for each of the likely history topics, one side of paper each.",
            "The library is quieter in the mornings, and the radiators by the window actually work.",
            "Only three weeks to go now, and for the first time it feels almost manageable.",
        ],
    ),
    "puzzle-club-minutes.txt": (
        "Minutes of the puzzle club, {weekday} meeting",
        [
            "Held as usual in the upstairs room at the library.",
            "Present were eleven members and two visitors, one of whom had seen our notice in the window of the bakery.",
            "Apologies were received from {absent}, who is away walking in the hills.",
            "The treasurer reported that the tin now holds enough to buy two new books of logic puzzles for the club shelf.",
            "The minutes of the last meeting were read and agreed, apart from a correction to the spelling of a member's surname.",
            "The secretary read a letter from a former member who has moved away and still sends a puzzle every month by post.",
            "The winner of last month's challenge was presented with a pencil sharpener shaped like a globe, to general applause.",
            "Members were reminded that the annual subscription is due at the next meeting and that the amount is unchanged.",
            "The first half of the evening was spent on crosswords, working in pairs against a kitchen timer.",
            "A visitor introduced a kind of number puzzle from a magazine brought back from holiday, and it caused a great deal of head scratching.",
            "There was a long discussion about whether puzzles with more than one correct answer are fair, and no agreement was reached.",
            "The chair thanked {friend} for the biscuits, which were home-made and greatly appreciated.",
            "After the tea break members tried a set of riddles chosen by the chair, most of which were solved within a few minutes.",
            "It was agreed that next month's meeting will include a team challenge, with a small prize donated by the bookshop.",
            "A proposal to hold one meeting each summer in the park was carried by a show of hands, weather permitting.",
            "After a short debate it was decided to allow dictionaries during word games, but only in the second half of the evening.",
            "The librarian has asked that puzzles left on the shared table be labelled with the club's name.",
            "The chair reminded members that the room must be cleared and the chairs stacked by nine o'clock.",
            "Any other business: the window in the upstairs room still does not close properly, and the librarian has been told.",
            "The meeting closed at ten to nine, and several members carried on the discussion in the cafe across the road.",
            "Action: {friend} to bring the folding whiteboard next time, and the secretary to update the contact list.",
        ],
    ),
}

# --------------------------------------------------------------------------- planted contexts
# item number -> (lead-in, follow-up); the planted copy goes between them, mid-paragraph.
PLANT_CONTEXT: dict[str, tuple[str, str]] = {
    "003": (
        "My niece had a page of practice problems for the weekend, and the one that caused the most trouble went like this:",
        "She got there in the end by writing out every combination on the back of an envelope, which is a perfectly good method.",
    ),
    "030-web": (
        "The science round opened with a question that half the room thought was easy:",
        "Our team wrote down the right name straight away and then spent five minutes doubting it.",
    ),
    "011": (
        "Here is the problem exactly as it appeared on the sheet I was given, answer key and all:",
        "The key was right, but it skipped the one step that most of the children actually needed to see.",
    ),
    "038": (
        "The tie-break was shouted out by the landlord over the noise of the bar:",
        "Both teams wrote the same thing, so the tie-break needed a tie-break of its own.",
    ),
    "007": (
        "Dev brought the puzzle for the week, copied out in capitals from an old exercise book:",
        "Most of the room drew a right-angled triangle at once, and Ruth insisted on drawing it to scale as well.",
    ),
    "015": (
        "Copied out the timetable problem from the practice paper so I can come back to it:",
        "Took me two attempts, because the first time I forgot the Saturday hours.",
    ),
    "022": (
        "{Mentor} lifted the first card of the arithmetic round to the lamp and began to read in a slow, careful voice:",
        "Before he could finish, the lights flickered and died, and the hall dissolved into groans and laughter.",
    ),
    "030-book": (
        "The last card of the science round was in {elder}'s neat handwriting, and {mentor} read it out slowly:",
        "Three tables called out the answer at once, and {mentor} pretended not to hear any of them.",
    ),
}

# --------------------------------------------------------------------------- document plans
# Blog topics of each web shard, in order; a shard also gets town entries (14 and 8).
WEB_TOPICS = {
    "part-000": "garden tutoring bread cycling coding quiz repair language hiking birds garden bread cycling hiking coding birds",
    "part-001": "quiz language tutoring repair garden birds hiking bread cycling coding",
}
# Scenes of each chapter of the story.
STORY_PLAN = [
    "morning memory workshop evening",
    "morning workshop village evening",
    "village hall evening",
    "morning workshop storm",
    "storm memory evening",
    "morning village workshop evening",
    "village hall evening",
    "morning workshop memory evening",
    "morning village hall evening",
    "morning workshop village evening",
    "memory workshop storm evening",
    "morning village memory evening",
]
# Where the plants go: blog number within a web shard, chapter number (with the hall sentence
# the plant follows), notes file.
WEB_PLANTS = {"part-000": {1: "003", 5: "030-web"}, "part-001": {0: "038", 2: "011"}}
BOOK_PLANTS = {
    7: ("022", "Some were easy and some were fiendish"),
    9: ("030-book", "The fishermen's team"),
}
NOTE_PLANTS = {"puzzle-club-minutes.txt": "007", "revision-diary.txt": "015"}

# =========================================================================== generator logic
Doc = list[list[str]]  # paragraphs, each a list of sentences
FORMATTER = string.Formatter()


@dataclass
class Writer:
    rng: random.Random
    ctx: dict[str, str] = field(default_factory=dict)

    def fill(self, template: str) -> str:
        """Format a template: context slots first, any other slot drawn from WORDS."""
        values: dict[str, str] = {}
        for _, name, _, _ in FORMATTER.parse(template):
            if name and name not in values:
                values[name] = self.ctx[name] if name in self.ctx else self.rng.choice(WORDS[name])
        template = re.sub(
            r"\b([Aa]) \{(\w+)\}",
            lambda m: m[1] + ("n" if values[m[2]][0] in "aeiouAEIOU" else "") + " {" + m[2] + "}",
            template,
        )
        return template.format(**values)

    def pick(self, pool: list[str], k: int) -> list[str]:
        """k distinct sentences from pool, kept in pool order (pools are written in order)."""
        idx = sorted(self.rng.sample(range(len(pool)), min(k, len(pool))))
        return [self.fill(pool[i]) for i in idx]


def plant(doc: Doc, lead: str, copy: str, follow: str, after: str = "") -> None:
    """Insert lead, copy and follow-up mid-paragraph: after the sentence starting with `after`
    if given (it must not end its paragraph), else in the middle of a middle paragraph."""
    if after:
        para = next(p for p in doc if any(s.startswith(after) for s in p[:-1]))
        at = next(i for i, s in enumerate(para) if s.startswith(after)) + 1
    else:
        inner = [i for i in range(1, len(doc) - 1) if len(doc[i]) >= 2]
        para = doc[inner[len(inner) // 2]]
        at = len(para) // 2
    para[at:at] = [lead, copy, follow]


def render(doc: Doc, title: str | None = None) -> str:
    paras = [" ".join(p) for p in doc]
    text = "\n\n".join(([title] if title else []) + paras)
    return re.sub(r" ?\n ?", "\n", text)


def town_entry(rng: random.Random, town: str) -> tuple[str, Doc]:
    ctx = {k: rng.choice(v) for k, v in TOWN_VOCAB.items()}
    ctx.update(
        town=town,
        pop=f"{rng.randint(2, 24)},{rng.randint(0, 999):03d}",
        km=str(rng.randint(8, 60)),
        year_early=str(rng.randint(930, 1150)),
        year_charter=str(rng.randint(1210, 1350)),
        year_fire=str(rng.randint(1560, 1660)),
        year_rail=str(rng.randint(1842, 1875)),
        year_close=str(rng.randint(1962, 1995)),
        year_bypass=str(rng.randint(1976, 2006)),
        minutes=str(rng.randint(20, 70)),
        n_listed=str(rng.randint(20, 140)),
        km2=str(rng.randint(5, 18)),
        festival_month=rng.choice(WORDS["month"]),
    )
    w = Writer(rng, ctx)
    doc = [[w.fill(rng.choice(TOWN_OPENERS)), *w.pick(TOWN_LEAD, rng.randint(2, 3))]]
    for pool, lo in (
        (TOWN_HISTORY, 6),
        (TOWN_ECONOMY, 4),
        (TOWN_GEOGRAPHY, 3),
        (TOWN_CULTURE, 4),
        (TOWN_TRANSPORT, 3),
    ):
        doc.append(w.pick(pool, rng.randint(lo, len(pool))))
    return town, doc


def blog_post(rng: random.Random, topic: str) -> tuple[str, str, Doc]:
    name, titles, pool = BLOG_TOPICS[topic]
    ctx = {k: rng.choice(v) for k, v in BLOG_VOCAB.items()}
    ctx.update(
        friend=rng.choice(WORDS["friend"]),
        place=rng.choice(WORDS["place"]),
        pub=rng.choice(WORDS["pub"]),
    )
    w = Writer(rng, ctx)
    body = w.pick(pool, rng.randint(len(pool) - 3, len(pool)))
    asides = w.pick(BLOG_ASIDES, len(BLOG_ASIDES))
    rng.shuffle(asides)
    target = rng.randint(340, 480)  # words, opener and closer included
    while asides and (
        len(asides) > len(BLOG_ASIDES) - 4 or sum(len(s.split()) for s in body) < target - 40
    ):
        body.insert(rng.randint(1, len(body)), asides.pop())
    doc = [[w.fill(rng.choice(BLOG_OPENERS)), *body[:2]]]
    rest = body[2:]
    while rest:
        n = rng.randint(3, 5)
        doc.append(rest[:n])
        rest = rest[n:]
    doc.append([w.fill(rng.choice(BLOG_CLOSERS))])
    return name, w.fill(rng.choice(titles)), doc


def chapter(rng: random.Random, scenes: list[str], full: bool = False) -> Doc:
    """One chapter; with full, the hall scene keeps all its sentences (a plant needs them)."""
    w = Writer(rng, dict(STORY_CAST))
    doc: Doc = []
    for scene in scenes:
        pool = STORY_SCENES[scene]
        k = len(pool) if full and scene == "hall" else rng.randint(len(pool) * 2 // 3, len(pool))
        sentences = w.pick(pool, k)
        half = len(sentences) // 2
        doc += [sentences[:half], sentences[half:]] if len(sentences) > 6 else [sentences]
    return doc


def note(rng: random.Random, name: str) -> tuple[str, Doc]:
    heading, pool = NOTES[name]
    friend, absent = rng.sample(WORDS["friend"], 2)
    w = Writer(rng, {"friend": friend, "absent": absent})
    body = w.pick(pool, len(pool))
    doc = [body[i : i + 4] for i in range(0, len(body), 4)]
    return w.fill(heading), doc


def quiz_text(num: str) -> str:
    return QUIZ[int(num) - 1][0]


def planted_copy(key: str, rng: random.Random) -> str:
    """The (possibly transformed) copy of a quiz item that is planted for key."""
    num = key.split("-")[0]
    text = quiz_text(num)
    if num == "011":
        return f"{text} {QUIZ[10][1]}."
    if num == "007":
        return text.upper().replace(",", "").replace("?", ".")
    if num == "015":
        words, lines = text.split(), []
        while words:
            n = rng.randint(6, 8)
            lines.append(" ".join(words[:n]))
            words = words[n:]
        return "\n" + "\n".join(lines) + "\n"
    if num == "022":
        words = text.split()
        return '"' + " ".join(words[: len(words) // 2]) + '..."'
    if key == "030-book":
        return f'"{text}"'
    return text


def plant_key(
    doc: Doc, rng: random.Random, key: str, ctx: dict[str, str] | None = None, after: str = ""
) -> None:
    lead, follow = PLANT_CONTEXT[key]
    w = Writer(rng, ctx or {})
    plant(doc, w.fill(lead), planted_copy(key, rng), w.fill(follow), after)


def jsonl(records: list[dict[str, str]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def town_names(rng: random.Random, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        name = rng.choice(TOWN_PARTS[0]) + rng.choice(TOWN_PARTS[1])
        if name not in names and name not in WORDS["place"]:
            names.append(name)
    return names


def web_shard(
    rng: random.Random, shard: str, towns: list[str], topics: list[str], plants: dict[int, str]
) -> list[dict[str, str]]:
    """Town entries and blog posts, interleaved; plants maps a blog index to a plant key."""
    docs: list[tuple[str, str, str, Doc]] = []
    for town in towns:
        title, doc = town_entry(rng, town)
        docs.append(("wiki", f"https://wiki.example.org/{title}", "", doc))
    for i, topic in enumerate(topics):
        name, title, doc = blog_post(rng, topic)
        if i in plants:
            plant_key(doc, rng, plants[i])
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        url = (
            f"https://{name}.example.com/{rng.randint(2018, 2023)}/{rng.randint(1, 12):02d}/{slug}"
        )
        docs.append(("blog", url, title, doc))
    order = list(range(len(docs)))
    rng.shuffle(order)
    return [
        {
            "id": f"{shard}-{n:04d}",
            "text": render(docs[i][3], docs[i][2] or None),
            "url": docs[i][1],
        }
        for n, i in enumerate(order, 1)
    ]


def build() -> dict[str, bytes]:
    """Every output file, by path relative to examples/."""
    out: dict[str, bytes] = {}
    out["quiz.jsonl"] = jsonl(
        [{"id": f"quiz-{i:03d}", "text": t, "answer": a} for i, (t, a) in enumerate(QUIZ, 1)]
    )

    rng = random.Random(f"{SEED}:web")
    towns = town_names(rng, 22)
    shard_towns = {"part-000": towns[:14], "part-001": towns[14:]}
    for shard, topics in WEB_TOPICS.items():
        data = jsonl(web_shard(rng, shard, shard_towns[shard], topics.split(), WEB_PLANTS[shard]))
        if shard == "part-000":
            out["corpus/web/part-000.jsonl"] = data
        else:
            out[f"corpus/web/{shard}.jsonl.gz"] = gzip.compress(data, compresslevel=9, mtime=0)

    rng = random.Random(f"{SEED}:books")
    chapters: list[dict[str, str]] = []
    for n, scenes in enumerate(STORY_PLAN, 1):
        doc = chapter(rng, scenes.split(), full=n in BOOK_PLANTS)
        if n in BOOK_PLANTS:
            key, after = BOOK_PLANTS[n]
            plant_key(doc, rng, key, dict(STORY_CAST), after)
        chapters.append({"id": f"merrow-ch{n:02d}", "text": render(doc, f"Chapter {n}")})
    out["corpus/books/chapters.jsonl.zst"] = zstandard.ZstdCompressor(level=19).compress(
        jsonl(chapters)
    )

    rng = random.Random(f"{SEED}:notes")
    for name in NOTES:
        title, doc = note(rng, name)
        if name in NOTE_PLANTS:
            plant_key(doc, rng, NOTE_PLANTS[name])
        out[f"corpus/notes/{name}"] = (render(doc, title) + "\n").encode("utf-8")
    return out


def main() -> None:
    files = build()
    for rel, data in files.items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{len(data):>8}  examples/{rel}")


if __name__ == "__main__":
    main()
