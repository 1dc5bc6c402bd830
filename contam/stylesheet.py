"""The HTML report's stylesheet, inlined in the page's ``<style>`` element.

No web font and no external reference, so the page looks the same offline; the font stack
lists CJK fonts so Chinese group names and excerpts render wherever one is installed.
"""

STYLESHEET = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #dde2ea; --soft: #f5f7fa;
  --accent: #1f5fa8; --mark: #ffe27a; --mark-label: #ffc09e; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
    "PingFang SC", "Microsoft YaHei", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 40px 64px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 18px; }
.eyebrow { margin: 0; color: var(--accent); font-size: 13px; font-weight: 600;
  letter-spacing: .04em; text-transform: uppercase; }
h1 { margin: 2px 0 4px; font-size: 28px; }
h2 { margin: 40px 0 12px; padding-bottom: 6px; font-size: 20px;
  border-bottom: 1px solid var(--line); }
h3 { margin: 22px 0 8px; font-size: 16px; }
.subtitle, .muted, figcaption { color: var(--muted); }
.subtitle { margin: 0 0 6px; }
nav a { color: var(--accent); text-decoration: none; font-size: 14px; }
.verdict { margin: 14px 0; padding: 10px 14px; border-left: 4px solid #c2410c;
  background: #fff4ec; font-size: 16px; }
.verdict.clean { border-left-color: #2a9d6f; background: #eef8f3; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px;
  background: var(--soft); font-size: 13px; }
.card.hit { border-top: 3px solid #c2410c; }
.card .label { font-weight: 600; font-size: 14px; }
.card .n { font-size: 26px; font-weight: 650; line-height: 1.2; }
.card .of { font-size: 14px; font-weight: 400; color: var(--muted); }
table { width: 100%; border-collapse: collapse; font-size: 13.5px;
  font-variant-numeric: tabular-nums; margin: 8px 0 12px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; white-space: nowrap; }
th.group { text-align: center; border-bottom: 2px solid var(--line); }
.num { text-align: right; }
.nowrap { white-space: nowrap; }
td.focus { font-weight: 650; }
tr.hit td { background: #fff7e0; }
table.compact { font-size: 12.5px; } table.compact td { padding: 2px 10px; }
details { margin: 6px 0 16px; } summary { cursor: pointer; color: var(--accent); }
figure { margin: 12px 0 20px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 13px; margin-top: 4px; }
.note { color: var(--muted); font-style: italic; }
.item { display: grid; grid-template-columns: 290px minmax(0, 1fr); gap: 18px; margin: 14px 0;
  padding: 14px 16px; border: 1px solid var(--line); border-radius: 6px; }
.item h3 { margin: 0 0 8px; font-size: 15px; overflow-wrap: anywhere; }
.item dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0;
  font-size: 13px; }
.item dt { color: var(--muted); white-space: nowrap; }
.item dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.doc + .doc { margin-top: 10px; }
.doc-head { font-size: 12.5px; color: var(--muted); }
.doc-head code { overflow-wrap: anywhere; }
.excerpt { margin: 4px 0 0; padding: 10px 12px; background: var(--soft); border-radius: 4px;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 14.5px; line-height: 1.75; }
.excerpt .gap::before { content: "\\2003[…]\\2003"; color: var(--muted); }
mark { background: var(--mark); color: inherit; padding: 1px 0; border-radius: 2px; }
mark.label { background: var(--mark-label); }
code { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
code.hash { font-size: 11.5px; word-break: break-all; }
.meta { display: grid; grid-template-columns: 1.25fr 1fr 0.9fr; gap: 24px; }
dl.kv { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 0;
  font-size: 13px; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
"""
