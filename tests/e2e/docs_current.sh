#!/usr/bin/env bash
# docs/plugins.md is what scripts/gen-plugin-docs renders from the one JSON
# document of `pipelined --describe-json`, and that document is the same as
# the per-plugin descriptions: every plugin listed, each entry equal to
# `--describe-json NAME`.
. "$(dirname "$0")/lib.sh"
"$PIPELINED" --describe-json > "$work/describe.json" \
  || fail "--describe-json without a NAME exits non-zero"
"$top_srcdir/scripts/gen-plugin-docs" - < "$work/describe.json" > "$work/plugins.md"
diff -u "$top_srcdir/docs/plugins.md" "$work/plugins.md" \
  || fail "docs/plugins.md is out of date: run scripts/gen-plugin-docs PIPELINED > docs/plugins.md"
# The script's own way (it runs the daemon) gives the same text.
"$top_srcdir/scripts/gen-plugin-docs" "$PIPELINED" | cmp -s - "$work/plugins.md" \
  || fail "gen-plugin-docs PIPELINED differs from gen-plugin-docs - < the JSON"
pass "docs/plugins.md matches the option tables"

"$PIPELINED" --list-plugins | awk '{print $1}' > "$work/listed"
for name in $(cat "$work/listed"); do
  "$PIPELINED" --describe-json "$name" > "$work/one-$name.json"
done
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
doc = json.load(open(os.path.join(work, "describe.json")))
listed = open(os.path.join(work, "listed")).read().split()
names = [p["name"] for p in doc["plugins"]]
assert names == listed, (names, listed)
for plugin in doc["plugins"]:
    one = json.load(open(os.path.join(work, "one-%s.json" % plugin["name"])))
    assert one == plugin, plugin["name"]
stage = {o["name"]: o for o in doc["stage_options"]}
assert stage["batch_size"]["min"] == 1 and "sink" in stage["batch_size"]["kinds"], stage
assert stage["log_level"]["kinds"] == ["source", "transform", "sink"], stage
# The limits are in the document and in the docs rendered from it.
csv = next(p for p in doc["plugins"] if p["name"] == "transform-csv")
delimiter = next(o for o in csv["options"] if o["name"] == "delimiter")
assert delimiter["min_length"] == 1 and delimiter["max_length"] == 1, delimiter
assert "length 1 byte" in open(os.path.join(work, "plugins.md")).read()
PY
pass "--describe-json renders every plugin as one document, equal to --describe-json NAME"

# Every counter a plugin (or the AWS layer for it) keeps with
# pl_instance_count() has a row in docs/operations.md's "Plugin counters",
# and every row there is counted somewhere: /metrics shows them as
# pipelined_plugin_<name>_total, and an operator needs to know what each one
# counts.
python3 - "$top_srcdir" <<'PY' || fail "docs/operations.md and the plugin counters differ"
import glob, os, re, sys
top = sys.argv[1]
counted = {}
for path in sorted(glob.glob(os.path.join(top, "plugins", "*", "*.c")) +
                   glob.glob(os.path.join(top, "src", "aws", "*.c"))):
    text = open(path).read()
    for m in re.finditer(r"\bpl_instance_count\(", text):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        for name in re.findall(r'"([a-z_]+)"', text[m.end():i]):
            counted.setdefault(name, os.path.relpath(path, top))
doc = open(os.path.join(top, "docs", "operations.md")).read()
start = doc.find("**Plugin counters.**")
assert start >= 0, "docs/operations.md has no **Plugin counters.** paragraph"
end = doc.find("\n**", start + 1)
section = doc[start:end if end > 0 else len(doc)]
documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
missing = sorted(n for n in counted if n not in documented)
stale = sorted(documented - set(counted))
for n in missing:
    print("pipelined_plugin_%s_total (%s) has no row in docs/operations.md's Plugin counters" % (n, counted[n]))
for n in stale:
    print("docs/operations.md documents the counter %s, which no plugin counts" % n)
assert len(counted) > 20, counted
sys.exit(1 if missing or stale else 0)
PY
pass "docs/operations.md names every plugin counter"
