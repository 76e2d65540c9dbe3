"""Check a running server's /api/v1/scheduler/services/list against the seed's 37 jobs: every id
listed, with the seed's Chinese name, and the seed's time (每天 7:00, 每小时整点+5分, 每月1号 2:00)
as its default cron. Exit 1 on any difference.

    python bench/walk_seed_jobs_listed.py http://127.0.0.1:8000 $TOKEN"""

import json
import re
import sys
import urllib.request

SEED = "/work/shared/seeds/004_c3e291608c531f57.txt"
base, token = sys.argv[1], sys.argv[2]


def seed_cron(text):
    text = text.strip()
    if m := re.fullmatch(r"每天 (\d+):(\d+)", text):
        return f"{int(m[2])} {int(m[1])} * * *"
    if text == "每小时整点":
        return "0 * * * *"
    if m := re.fullmatch(r"每小时整点\+(\d+)分", text):
        return f"{int(m[1])} * * * *"
    if m := re.fullmatch(r"每月(\d+)号 (\d+):(\d+)", text):
        return f"{int(m[3])} {int(m[2])} {int(m[1])} * *"
    raise ValueError(text)


seed = {}
with open(SEED, encoding="utf-8") as lines:
    rows = list(lines)
for line in rows:
    m = re.match(r"\|\s*([^|`]+?)\s*\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|", line)
    if m:
        seed[m[2]] = (m[1], seed_cron(m[3]))
assert len(seed) == 37, len(seed)

req = urllib.request.Request(base + "/api/v1/scheduler/services/list", headers={"Authorization": "Token " + token})
listed = {s["id"]: s for s in json.load(urllib.request.urlopen(req))["services"]}
bad = 0
for job_id, (name, cron) in sorted(seed.items()):
    s = listed.get(job_id)
    if s is None:
        print("MISSING", job_id)
        bad += 1
        continue
    if s["name"] != name or s["default_cron"] != cron:
        print("DIFFERS", job_id, (s["name"], s["default_cron"]), "seed:", (name, cron))
        bad += 1
print(f"seed jobs: {len(seed)}, listed: {len(listed)}, seed jobs listed as in the seed: {37 - bad}")
print("listed beyond the seed:", sorted(set(listed) - set(seed)))
sys.exit(1 if bad else 0)
