#!/usr/bin/env python3
# png_find.py SHOT.png SCREEN.png: is SCREEN (a screendump) inside SHOT (a
# browser screenshot) pixel for pixel? Exit 0 and "at X,Y: 0 rows differ"
# when it is. Decodes 8-bit RGB/RGBA PNGs itself: no imaging library.
import struct, sys, zlib

def png_read(path):
    d = open(path, 'rb').read()
    assert d[:8] == b'\x89PNG\r\n\x1a\n'
    i, idat = 8, b''
    while i < len(d):
        n, t = struct.unpack('>I4s', d[i:i + 8])
        if t == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', d[i + 8:i + 18])
        elif t == b'IDAT':
            idat += d[i + 8:i + 8 + n]
        i += 12 + n
    assert depth == 8 and ctype in (2, 6)
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prev = line
    rows = [[tuple(out[y * stride + x * bpp:y * stride + x * bpp + 3]) for x in range(w)] for y in range(h)]
    return w, h, rows

sw, sh, shot = png_read(sys.argv[1])
dw, dh, dump = png_read(sys.argv[2])
# the screen's top-left: the first row of the dump with a non-black pixel
# anchors the search
ay = next(y for y in range(dh) if any(p != (0, 0, 0) for p in dump[y]))
ax = next(x for x in range(dw) if dump[ay][x] != (0, 0, 0))
for oy in range(0, sh - dh + 1):
    for ox in range(0, sw - dw + 1):
        if shot[oy + ay][ox + ax] != dump[ay][ax]:
            continue
        if all(shot[oy + y][ox:ox + dw] == dump[y] for y in range(0, dh, 7)):
            bad = sum(shot[oy + y][ox:ox + dw] != dump[y] for y in range(dh))
            print(f"at {ox},{oy}: {bad} rows differ")
            sys.exit(1 if bad else 0)
print("screen not found in the screenshot")
sys.exit(1)
