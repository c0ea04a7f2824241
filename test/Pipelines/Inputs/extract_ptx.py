"""Writes the PTX of the first gpu.binary in an MLIR file (its `assembly`
string, unescaped) to stdout."""
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', text)
raw = m.group(1)
out = re.sub(r'\\([0-9A-Fa-f]{2})', lambda x: chr(int(x.group(1), 16)), raw).replace('\\\\', '\\')
sys.stdout.write(out)
