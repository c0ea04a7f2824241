"""Where a phased kernel's step goes, from its phase timeline
(docs/Design/PhaseTimeline.md).

    phase_timeline.py FILE [--launch N]

FILE is what the runtime wrote with STEPC_CUDA_TIMELINE set, for an
artifact compiled with --cuda-phase-timeline; the last launch in it unless
--launch names one. A phase is the time from one barrier's release to the
next one's, as the first block of a sub-grid sees them (block 0 also sees
the barriers the whole grid meets); it is charged to the site of the
barrier that ends it, and the sub-grids' phases are summed. Prints one
Markdown row per site, costliest first, then the time each sub-grid took
from its start to its last release.
"""

import json
import sys


def phases(launch):
    """{site: (releases, ns summed over sub-grids)} and, per sub-grid, the
    ns from its start to its last release. The first block of sub-grid 0
    is block 0, which also records the grid's barriers (region 0): its
    phases run through both, in time order."""
    regions = launch["regions"]
    per_site, spans = {}, []
    for s in range(launch["subgrids"]):
        marks = regions[1 + s]["marks"] + (regions[0]["marks"] if s == 0
                                           else [])
        before = regions[1 + s]["start"]
        for site, ns in sorted(marks, key=lambda mark: mark[1]):
            releases, total = per_site.get(site, (0, 0))
            per_site[site] = (releases + 1, total + ns - before)
            before = ns
        spans.append(before - regions[1 + s]["start"])
    return per_site, spans


def table(launch):
    """The rows phase_timeline.py prints, as lines."""
    per_site, spans = phases(launch)
    total = sum(ns for _, ns in per_site.values()) or 1
    lines = [f"{launch['kernel']}, launch {launch['launch']}: "
             f"{launch['blocks']} blocks in {launch['subgrids']} sub-grids",
             "| site | phase | releases | ms (all sub-grids) | share |",
             "|---|---|---|---|---|"]
    for site, (releases, ns) in sorted(per_site.items(),
                                       key=lambda item: -item[1][1]):
        lines.append(f"| {site} | {launch['sites'][site - 1]} | {releases} | "
                     f"{ns / 1e6:.3f} | {ns / total:.1%} |")
    kept = sum(len(r["marks"]) for r in launch["regions"])
    released = sum(r["released"] for r in launch["regions"])
    if kept != released:
        lines.append(f"({released - kept} releases past the timeline's "
                     "capacity are not counted)")
    lines.append("from the start to the last release: " + ", ".join(
        f"sub-grid {s} {ns / 1e6:.3f} ms" for s, ns in enumerate(spans)))
    return lines


def main():
    args = sys.argv[1:]
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--launch"):
        print(__doc__)
        return 2
    with open(args[0]) as file:
        launches = [json.loads(line) for line in file if line.strip()]
    launches = [launch for launch in launches if "regions" in launch]
    if len(args) == 3:
        launches = [launch for launch in launches
                    if launch["launch"] == int(args[2])]
    if not launches:
        print(f"{args[0]}: no launch with a phase timeline (compile with "
              "--cuda-phase-timeline)")
        return 1
    print("\n".join(table(launches[-1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
