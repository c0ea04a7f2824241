"""Lists the tensor-core k loops of one PTX entry, a line each.

Usage: kstep_loops.py FILE.ptx ENTRY

A k loop is a natural loop whose header starts with cp.async.wait_group.
Each line gives the loop's instructions (every block of the loop), those
of its blocks that do not load element by element (ld.global, st.shared:
a k-step whose copies all pass their checks runs these), its cp.async,
ldmatrix and mma.sync counts, and whether it has element loads at all
(the checked loop of a tile at a matrix's edge):

  k-loop instructions=37 copying=37 cp.async=2 ldmatrix=6 mma=8 checked=no
"""
import re
import sys


def entry_body(text, name):
    start = text.index('.entry %s(' % name)
    open_brace = text.index('{', text.index(')', start))
    depth, i = 0, open_brace
    while True:
        if text[i] == '{':
            depth += 1
        elif text[i] == '}':
            depth -= 1
            if depth == 0:
                return text[open_brace + 1:i]
        i += 1


def blocks_of(body):
    """[(label, [instruction, ...])] in program order."""
    body = re.sub(r'//[^\n]*', '', body)
    blocks, label, instructions = [], None, []
    # Statements end at ';'; a label ends at ':' at the start of a line.
    for piece in re.split(r'(\$L__\w+:)|;', body):
        if piece is None:
            continue
        piece = piece.strip()
        if re.fullmatch(r'\$L__\w+:', piece):
            blocks.append((label, instructions))
            label, instructions = piece[:-1], []
        elif piece and not piece.startswith('.') and piece not in '{}':
            instructions.append(' '.join(piece.split()))
    blocks.append((label, instructions))
    return blocks


def successors(blocks):
    index = {label: n for n, (label, _) in enumerate(blocks) if label}
    result = []
    for n, (_, instructions) in enumerate(blocks):
        succ, last = [], instructions[-1] if instructions else ''
        for instruction in instructions:
            m = re.search(r'\bbra(?:\.uni)?\s+(\$L__\w+)', instruction)
            if m:
                succ.append(index[m.group(1)])
        unconditional = (re.match(r'bra(\.uni)?\s', last) or
                         last.startswith('ret') or last.startswith('exit') or
                         last.startswith('trap'))
        if not unconditional and n + 1 < len(blocks):
            succ.append(n + 1)
        result.append(succ)
    return result


def dominators(succ):
    count = len(succ)
    preds = [[] for _ in range(count)]
    for n, targets in enumerate(succ):
        for t in targets:
            preds[t].append(n)
    everything = set(range(count))
    dom = [everything] * count
    dom[0] = {0}
    changed = True
    while changed:
        changed = False
        for n in range(1, count):
            incoming = [dom[p] for p in preds[n]]
            new = (set.intersection(*incoming) if incoming else set()) | {n}
            if new != dom[n]:
                dom[n], changed = new, True
    return dom, preds


def main():
    text = open(sys.argv[1]).read()
    blocks = blocks_of(entry_body(text, sys.argv[2]))
    succ = successors(blocks)
    dom, preds = dominators(succ)
    for header, (_, instructions) in enumerate(blocks):
        if not instructions or not instructions[0].startswith(
                'cp.async.wait_group'):
            continue
        latches = [n for n in preds[header] if header in dom[n]]
        loop, work = {header}, list(latches)
        while work:
            n = work.pop()
            if n not in loop:
                loop.add(n)
                work.extend(preds[n])
        body = [i for n in sorted(loop) for i in blocks[n][1]]
        loads = lambda block: any(
            i.startswith(('ld.global', 'st.shared')) for i in block)
        copying = sum(
            len(blocks[n][1]) for n in loop if not loads(blocks[n][1]))
        count = lambda prefix: sum(i.startswith(prefix) for i in body)
        print('k-loop instructions=%d copying=%d cp.async=%d ldmatrix=%d '
              'mma=%d checked=%s' %
              (len(body), copying, count('cp.async.cg'), count('ldmatrix'),
               count('mma.sync'), 'yes' if loads(body) else 'no'))


main()
