#!/usr/bin/env python3
"""Compares two main-job report folders: lenet-compare.json and the SVGs byte for byte;
lenet-infer.json on every field except wall/CPU times, the decrypted outputs and their errors
(fresh keys from the OS's cryptographic RNG make those differ run to run), whose checks
(pass, argmax agreement, plaintext outputs) must still match."""
import json, sys, filecmp
a, b = sys.argv[1], sys.argv[2]
ok = True
for f in ['lenet-compare.json', 'lenet-dense-layers.svg', 'lenet-spencnn-layers.svg']:
    same = filecmp.cmp(f'{a}/{f}', f'{b}/{f}', shallow=False)
    print(f, 'identical' if same else 'DIFFERENT'); ok &= same
def strip(d):
    d = json.loads(json.dumps(d))
    d['setup'] = {k: v for k, v in d['setup'].items() if not k.endswith('_ms')}
    for k in ['max_abs_error', 'max_relative_error', 'mean_total_ms', 'mean_evaluate_ms', 'mean_cpu_ms']:
        d['summary'].pop(k, None)
    for i in d['inputs']:
        for k in list(i):
            if k in ('encrypted', 'times') or k.endswith('_ms') or 'error' in k:
                i.pop(k)
    return d
ia = strip(json.load(open(f'{a}/lenet-infer.json'))); ib = strip(json.load(open(f'{b}/lenet-infer.json')))
same = ia == ib
print('lenet-infer.json (without times, decrypted values and their errors)', 'identical' if same else 'DIFFERENT')
if not same:
    print(json.dumps(ia)[:2000]); print(json.dumps(ib)[:2000])
print('kept input fields:', sorted(ia['inputs'][0]))
ok &= same
sys.exit(0 if ok else 1)
