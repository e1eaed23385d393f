//! ImageFolder: PNG exact in CHW order with sorted labels, `per_class`, grey and RGB, JPEG
//! close to its source.

use super::*;

/// root/{bird, airplane, cat} created out of order, each with PNG files out of order, plus
/// hidden files and folders and non-image files that must be ignored. Image ids: airplane
/// a=0 b=1 c=2, bird a=3 b=4, cat a=5. Images are 5 wide, 4 high.
fn write_image_folder(root: &Path) {
    let (w, h) = (5, 4);
    let png = |id| png_bytes(&rgb_fixture(id, w, h).0);
    write(&root.join("bird/b.png"), &png(4));
    write(&root.join("bird/a.png"), &png(3));
    write(&root.join("airplane/c.PNG"), &png(2)); // extensions compare case-insensitively
    write(&root.join("airplane/a.png"), &png(0));
    write(&root.join("airplane/b.png"), &png(1));
    write(&root.join("cat/a.png"), &png(5));
    // ignored: hidden files and folders, files of other extensions, files beside the classes
    write(&root.join("airplane/.0.png"), &png(7));
    write(&root.join("airplane/notes.txt"), b"not an image");
    write(&root.join("airplane/a.png.orig"), b"not an image either");
    write(&root.join("bird/.DS_Store"), b"\0\0\0\x01Bud1");
    write(&root.join(".hidden/a.png"), &png(6));
    write(&root.join("README.txt"), b"CIFAR-like fixture");
}

#[test]
fn image_folder_png_is_exact_in_chw_order_with_sorted_labels() {
    let root = scratch("folder");
    write_image_folder(&root);
    let d = Dataset::open(&root, options(3, 4, 5, None)).unwrap();
    assert_eq!(d.format, DataFormat::ImageFolder);
    assert_eq!(d.source, root);
    assert_eq!(d.shape, Shape::new(3, 4, 5));
    assert_eq!(d.classes, ["airplane", "bird", "cat"]);
    assert_eq!(d.class_counts(), [3, 2, 1]);
    let expected: [(usize, &str, u8); 6] = [
        (0, "airplane/a.png", 0),
        (0, "airplane/b.png", 1),
        (0, "airplane/c.PNG", 2),
        (1, "bird/a.png", 3),
        (1, "bird/b.png", 4),
        (2, "cat/a.png", 5),
    ];
    assert_eq!(d.len(), expected.len());
    for (sample, (label, origin, id)) in d.samples.iter().zip(expected) {
        assert_eq!(sample.label, label, "{}", sample.origin);
        assert_eq!(Path::new(&sample.origin), Path::new(origin));
        assert_eq!(sample.pixels, rgb_fixture(id, 5, 4).1, "{origin}");
    }
    // spot checks of the CHW layout against the formula: plane c, row y, column x
    let s = &d.samples[4]; // bird/b.png, id 4: 148 + 20 c + 5 y + x
    assert_eq!(s.pixels[0], 148); // c 0, y 0, x 0
    assert_eq!(s.pixels[4], 152); // c 0, y 0, x 4
    assert_eq!(s.pixels[5], 153); // c 0, y 1, x 0
    assert_eq!(s.pixels[20], 168); // c 1, y 0, x 0
    assert_eq!(s.pixels[59], 207); // c 2, y 3, x 4
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn image_folder_per_class_keeps_the_first_k_by_sorted_name() {
    let root = scratch("folder-k");
    write_image_folder(&root);
    let d = Dataset::open(&root, options(3, 4, 5, Some(2))).unwrap();
    let origins: Vec<PathBuf> = d.samples.iter().map(|s| PathBuf::from(&s.origin)).collect();
    let want: Vec<PathBuf> = [
        "airplane/a.png",
        "airplane/b.png",
        "bird/a.png",
        "bird/b.png",
    ]
    .iter()
    .chain(&["cat/a.png"])
    .map(PathBuf::from)
    .collect();
    assert_eq!(origins, want);
    assert_eq!(d.class_counts(), [2, 2, 1]);
    assert_eq!(d.samples[1].pixels, rgb_fixture(1, 5, 4).1);
    let one = Dataset::open(&root, options(3, 4, 5, Some(1))).unwrap();
    let labels: Vec<usize> = one.samples.iter().map(|s| s.label).collect();
    assert_eq!(labels, [0, 1, 2]);
    assert_eq!(one.samples[1].pixels, rgb_fixture(3, 5, 4).1);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn image_folder_converts_grey_to_rgb_and_reads_grey_as_one_channel() {
    let root = scratch("grey");
    let grey = GrayImage::from_fn(3, 2, |x, y| image::Luma([(10 + 40 * y + 7 * x) as u8]));
    write(&root.join("digit/one.png"), &grey_png_bytes(&grey));
    let plane = [10u8, 17, 24, 50, 57, 64];
    let rgb = Dataset::open(&root, options(3, 2, 3, None)).unwrap();
    assert_eq!(rgb.samples.len(), 1);
    assert_eq!(rgb.samples[0].pixels, plane.repeat(3));
    let one = Dataset::open(&root, options(1, 2, 3, None)).unwrap();
    assert_eq!(one.shape, Shape::new(1, 2, 3));
    assert_eq!(one.samples[0].pixels, plane);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn image_folder_reads_jpeg_close_to_its_source() {
    // JPEG is lossy: a smooth 8x8 image at quality 100 decodes within a few levels.
    let root = scratch("jpeg");
    let image = RgbImage::from_fn(8, 8, |x, y| {
        Rgb([200, (100 + 4 * x) as u8, (30 + 3 * y) as u8])
    });
    write(&root.join("a/x.jpg"), &jpeg_bytes(&image));
    write(&root.join("b/y.JPEG"), &jpeg_bytes(&image));
    let d = Dataset::open(&root, options(3, 8, 8, None)).unwrap();
    assert_eq!(d.class_counts(), [1, 1]);
    for s in &d.samples {
        assert_eq!(s.pixels.len(), 3 * 64);
        for c in 0..3 {
            for y in 0..8 {
                for x in 0..8 {
                    let got = s.pixels[c * 64 + y * 8 + x];
                    let want = image.get_pixel(x as u32, y as u32)[c];
                    assert!(
                        got.abs_diff(want) <= 4,
                        "{} c {c} y {y} x {x}: {got} vs {want}",
                        s.origin
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(root);
}
