#!/usr/bin/env python3
# Seeds for vhdx_fuzz: inputs in its patch format (see vhdx_fuzz.c). Usage:
#   python3 tests/fuzz/vhdx_seed.py corpus/
import struct, sys, os

def patch(which, off, data):
    return bytes([which]) + struct.pack('<H', off) + bytes([len(data)]) + data

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
open(os.path.join(out, 'dynamic'), 'wb').write(b'\0')
open(os.path.join(out, 'fixed'), 'wb').write(b'\1')
guid = bytes(range(1, 17))
for name, flags, desc in (
        ('log_zero', 0x0a, b'zero' + b'\0' * 4 + struct.pack('<QQQ', 4096, 2 << 20, 1)),
        ('log_zero_fixed', 0x0b, b'zero' + b'\0' * 4 + struct.pack('<QQQ', 4096, 2 << 20, 1))):
    entry = b'loge' + b'\0' * 4 + struct.pack('<IIQII', 4096, 0, 1, 1, 0) + guid + \
        struct.pack('<QQ', 4 << 20, 4 << 20) + desc
    s = bytes([flags]) + patch(1, 48, guid) + patch(2, 48, guid) + patch(8, 0, entry)
    open(os.path.join(out, name), 'wb').write(s)
