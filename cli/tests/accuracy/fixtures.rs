//! Generated fixtures: seeded weights as safetensors, PNGs written by hand, ImageFolders.

use super::*;

/// A network's seeded parameters as a safetensors file (F32, PyTorch names).
pub(super) fn write_weights(network: &mut Network, file: &Path) {
    init_seeded(network, 7);
    std::fs::write(
        file,
        to_safetensors_bytes(network, WeightDtype::F32).unwrap(),
    )
    .unwrap();
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An 8-bit RGB PNG written by hand (stored deflate blocks), `rgb` row-major interleaved:
/// the CLI crate does not depend on the `image` crate.
fn png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    assert_eq!(rgb.len(), (3 * width * height) as usize);
    let mut raw = Vec::new();
    for row in rgb.chunks(3 * width as usize) {
        raw.push(0); // filter: none
        raw.extend(row);
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend(*block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend(((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        out.extend((data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend(&data);
        out.extend(&chunk);
        out.extend(crc32(&chunk).to_be_bytes());
    }
    out
}

/// A `size` x `size` PNG of pseudo-random pixels from `seed`.
pub(super) fn noise_png(size: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let pixels: Vec<u8> = (0..3 * size * size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    png(size, size, &pixels)
}

/// An ImageFolder of `classes` x `per_class` 32x32 PNGs.
pub(super) fn image_folder(root: &Path, classes: &[&str], per_class: u32) {
    for (c, class) in classes.iter().enumerate() {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..per_class {
            let seed = 100 * c as u32 + i;
            std::fs::write(dir.join(format!("{i:04}.png")), noise_png(32, seed)).unwrap();
        }
    }
}
