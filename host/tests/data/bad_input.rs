//! Malformed input of every format: the errors name the file and the problem.

use super::cifar::cifar_record;
use super::mnist::{idx_files, MNIST_LABELS};
use super::*;

#[test]
fn corrupt_and_truncated_images_name_the_file() {
    let root = scratch("bad-images");
    let opts = options(3, 8, 8, None);
    let image = rgb_fixture(1, 8, 8).0;

    // bytes that are no image at all, under a .png name
    let garbage = root.join("garbage/c/x.png");
    write(
        &garbage,
        b"this is not a PNG file, just text of some length\n",
    );
    let (e, m) = open_err(&root.join("garbage"), opts);
    assert!(matches!(e, DataError::Decode { .. }), "{e:?}");
    assert_names(&m, &garbage, &["not a valid image"]);

    // a PNG cut in the middle of its pixel data (the header, and so the size, is intact)
    let png = png_bytes(&image);
    let cut = root.join("png/c/x.png");
    write(&cut, &png[..png.len() / 2]);
    let (e, m) = open_err(&root.join("png"), opts);
    assert!(matches!(e, DataError::Decode { .. }), "{e:?}");
    assert_names(&m, &cut, &["not a valid image"]);

    // JPEGs cut short: in the middle of the entropy-coded data (the decoder alone fills the
    // rest with made-up pixels and no error), by the two bytes of the end-of-image marker, and
    // inside the header
    let big = rgb_fixture(1, 32, 32).0;
    let jpeg = jpeg_bytes(&big);
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let opts32 = options(3, 32, 32, None);
    for (name, end) in [
        ("jpeg-half", sos + (jpeg.len() - sos) / 2),
        ("jpeg-eoi", jpeg.len() - 2),
        ("jpeg-head", 20),
    ] {
        assert!(
            name == "jpeg-head" || end > sos + 100,
            "{name}: the cut is in the scan"
        );
        let cut = root.join(name).join("c/x.jpg");
        write(&cut, &jpeg[..end]);
        let (e, m) = open_err(&root.join(name), opts32);
        assert!(matches!(e, DataError::Decode { .. }), "{name}: {e:?}");
        assert_names(&m, &cut, &["not a valid image"]);
        if name != "jpeg-head" {
            assert!(m.contains("end-of-image marker"), "{m}");
        }
    }
    // ... while bytes after the end-of-image marker, and an APP1 segment whose payload holds
    // marker-like bytes (as an EXIF thumbnail does), are fine
    let full = root.join("jpeg-full");
    write(&full.join("c/x.jpg"), &jpeg);
    let reference = Dataset::open(&full, opts32).unwrap().samples[0]
        .pixels
        .clone();
    let max_diff = reference
        .iter()
        .zip(rgb_fixture(1, 32, 32).1)
        .map(|(a, b)| a.abs_diff(b))
        .max();
    assert!(max_diff < Some(16), "{max_diff:?}");
    let trailing = root.join("jpeg-trailing");
    write(
        &trailing.join("c/x.jpg"),
        &[&jpeg[..], b"\0\0junk\xFF\xDA"].concat(),
    );
    assert_eq!(
        Dataset::open(&trailing, opts32).unwrap().samples[0].pixels,
        reference
    );
    let payload = b"Exif\0\0\xFF\xD8\xFF\xDA\x00\x02\xFF\xD9";
    let mut app1 = vec![0xFF, 0xE1, 0, payload.len() as u8 + 2];
    app1.extend(payload);
    let with_app1 = [&jpeg[..2], &app1[..], &jpeg[2..]].concat();
    let thumb = root.join("jpeg-app1");
    write(&thumb.join("c/x.jpg"), &with_app1);
    assert_eq!(
        Dataset::open(&thumb, opts32).unwrap().samples[0].pixels,
        reference
    );
    let cut = root.join("jpeg-app1-cut/c/x.jpg");
    write(&cut, &with_app1[..with_app1.len() - 100]);
    let (_, m) = open_err(&root.join("jpeg-app1-cut"), opts32);
    assert_names(&m, &cut, &["end-of-image marker"]);

    // an empty .png
    let empty = root.join("empty/c/x.png");
    write(&empty, b"");
    let (_, m) = open_err(&root.join("empty"), opts);
    assert_names(&m, &empty, &["not a valid image"]);

    // the bad file among good ones is the one named
    let mixed = root.join("mixed");
    write(&mixed.join("a/1.png"), &png);
    write(&mixed.join("b/1.png"), &png);
    write(&mixed.join("b/2.png"), &png[..png.len() - 30]);
    write(&mixed.join("b/3.png"), &png);
    let (_, m) = open_err(&mixed, opts);
    assert_names(&m, &mixed.join("b/2.png"), &["not a valid image"]);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn wrong_image_size_names_the_file_and_both_sizes() {
    let root = scratch("bad-size");
    // 5 wide, 4 high; the model wants 4 wide, 5 high
    let file = root.join("c/x.png");
    write(&file, &png_bytes(&rgb_fixture(0, 5, 4).0));
    let (e, m) = open_err(&root, options(3, 5, 4, None));
    assert!(
        matches!(
            e,
            DataError::ImageSize {
                width: 4,
                height: 5,
                got_width: 5,
                got_height: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&m, &file, &["image is 5x4, expected 4x5"]);
    // the CIFAR shape for an MNIST-sized image
    let other = root.join("d/y.png");
    write(&other, &grey_png_bytes(&GrayImage::new(28, 28)));
    std::fs::remove_file(&file).unwrap();
    write(&file, &png_bytes(&rgb_fixture(0, 32, 32).0));
    let (_, m) = open_err(&root, options(3, 32, 32, None));
    assert_names(&m, &other, &["image is 28x28, expected 32x32"]);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn empty_class_folder_is_named() {
    let root = scratch("empty-class");
    write(&root.join("a/x.png"), &png_bytes(&rgb_fixture(0, 4, 4).0));
    write(&root.join("b/notes.txt"), b"no images here");
    write(
        &root.join("b/.hidden.png"),
        &png_bytes(&rgb_fixture(0, 4, 4).0),
    );
    let (e, m) = open_err(&root, options(3, 4, 4, None));
    assert!(matches!(e, DataError::EmptyClass { .. }), "{e:?}");
    assert_names(
        &m,
        &root.join("b"),
        &["class folder holds no .jpg, .jpeg or .png file"],
    );
    // a class folder with nothing at all
    std::fs::remove_dir_all(root.join("b")).unwrap();
    std::fs::create_dir(root.join("0-empty")).unwrap();
    let (_, m) = open_err(&root, options(3, 4, 4, None));
    assert_names(&m, &root.join("0-empty"), &["class folder holds no"]);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn cifar_bad_label_and_truncated_records_are_named() {
    let dir = scratch("bad-cifar");
    let opts = options(3, 32, 32, None);

    let file = dir.join("labels.bin");
    write(
        &file,
        &[cifar_record(9, 0), cifar_record(10, 1), cifar_record(0, 2)].concat(),
    );
    let (e, m) = open_err(&file, opts);
    assert!(
        matches!(
            e,
            DataError::Label {
                index: 1,
                label: 10,
                classes: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&m, &file, &["record 1 has label 10, expected 0..10"]);
    let file = dir.join("label255.bin");
    write(&file, &cifar_record(255, 0));
    let (_, m) = open_err(&file, opts);
    assert_names(&m, &file, &["record 0 has label 255"]);

    let file = dir.join("short.bin");
    let two = [cifar_record(1, 0), cifar_record(2, 1)].concat();
    write(&file, &two[..two.len() - 100]);
    let (e, m) = open_err(&file, opts);
    assert!(
        matches!(
            e,
            DataError::Format {
                field: "length",
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(
        &m,
        &file,
        &[
            "field `length`",
            "6046 bytes",
            "3073-byte record",
            "truncated",
        ],
    );
    let file = dir.join("empty.bin");
    write(&file, b"");
    let (_, m) = open_err(&file, opts);
    assert_names(&m, &file, &["field `length`", "0 bytes"]);

    // in a folder of batches, the bad batch is the one named
    let folder = dir.join("batches");
    write(&folder.join("data_batch_1.bin"), &cifar_record(1, 0));
    write(&folder.join("data_batch_2.bin"), &two[..3000]);
    let (_, m) = open_err(&folder, opts);
    assert_names(
        &m,
        &folder.join("data_batch_2.bin"),
        &["field `length`", "3000 bytes"],
    );
    // class names from batches.meta.txt bound the labels
    write(&folder.join("data_batch_2.bin"), &cifar_record(2, 0));
    write(&folder.join("batches.meta.txt"), b"yes\nno\n");
    let (_, m) = open_err(&folder, opts);
    assert_names(
        &m,
        &folder.join("data_batch_2.bin"),
        &["record 0 has label 2, expected 0..2"],
    );
    // a CIFAR batch opened for a model of another shape
    let file = dir.join("ok.bin");
    write(&file, &cifar_record(1, 0));
    let (e, m) = open_err(&file, options(1, 28, 28, None));
    assert!(matches!(e, DataError::Shape { .. }), "{e:?}");
    assert_names(
        &m,
        &file,
        &["images are (3, 32, 32), the model expects (1, 28, 28)"],
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn mnist_bad_files_are_named() {
    let (images, labels, _) = idx_files(&MNIST_LABELS);
    let opts = options(1, 3, 4, None);
    let root = scratch("bad-mnist");
    let case =
        |name: &str, image_bytes: &[u8], label_bytes: &[u8]| -> (PathBuf, PathBuf, PathBuf) {
            let dir = root.join(name);
            let (i, l) = (dir.join("images-idx3-ubyte"), dir.join("labels-idx1-ubyte"));
            write(&i, image_bytes);
            write(&l, label_bytes);
            (dir, i, l)
        };

    // wrong magic: a labels magic in the images file, and an images magic in the labels
    let mut bad = images.clone();
    bad[3] = 0x01;
    let (dir, i, _) = case("magic", &bad, &labels);
    let (e, m) = open_err(&dir, opts);
    assert!(
        matches!(e, DataError::Format { field: "magic", .. }),
        "{e:?}"
    );
    assert_names(&m, &i, &["field `magic`: 0x00000801, expected 0x00000803"]);
    let mut bad = labels.clone();
    bad[3] = 0x03;
    let (dir, _, l) = case("magic-labels", &images, &bad);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &l, &["field `magic`: 0x00000803, expected 0x00000801"]);
    // little-endian magic (a common mistake when writing IDX by hand)
    let mut le = images.clone();
    le[..4].copy_from_slice(&0x0000_0803u32.to_le_bytes());
    let (dir, i, _) = case("magic-le", &le, &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &i, &["field `magic`: 0x03080000"]);

    // 5 images, 4 labels
    let (_, four, _) = idx_files(&MNIST_LABELS[..4]);
    let (dir, i, l) = case("count", &images, &four);
    let (e, m) = open_err(&dir, opts);
    assert!(
        matches!(e, DataError::Format { field: "count", .. }),
        "{e:?}"
    );
    assert_names(&m, &l, &["field `count`: 4 labels for the 5 images of"]);
    assert!(m.contains(&i.display().to_string()), "{m}");

    // truncated payload, truncated header, gzipped and not
    let (dir, i, _) = case("short", &images[..images.len() - 1], &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(
        &m,
        &i,
        &["field `length`: 59 data bytes, the header's dimensions [5, 3, 4] need 60"],
    );
    let (dir, _, l) = case("short-labels", &images, &labels[..labels.len() - 2]);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &l, &["field `length`: 3 data bytes", "need 5"]);
    let (dir, i, _) = case("header", &images[..10], &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(
        &m,
        &i,
        &["field `header`: 10 bytes, expected a 16-byte header"],
    );
    let (dir, i, _) = case("short-gz", &gzip(&images[..40]), &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &i, &["field `length`: 24 data bytes"]);
    // a gzip stream cut short
    let gz = gzip(&images);
    let (dir, i, _) = case("cut-gz", &gz[..gz.len() / 2], &labels);
    let (e, m) = open_err(&dir, opts);
    assert!(
        matches!(e, DataError::Format { field: "gzip", .. }),
        "{e:?}"
    );
    assert_names(&m, &i, &["field `gzip`: does not decompress"]);

    // a label of 10
    let (_, bad_label, _) = idx_files(&[1, 2, 10, 3, 4]);
    let (dir, _, l) = case("label", &images, &bad_label);
    let (e, m) = open_err(&dir, opts);
    assert!(
        matches!(
            e,
            DataError::Label {
                index: 2,
                label: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&m, &l, &["record 2 has label 10, expected 0..10"]);

    // a header declaring an absurd number of images: refused before any allocation
    let mut huge = images.clone();
    huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    huge[8..12].copy_from_slice(&60_000u32.to_be_bytes());
    let (dir, i, _) = case("huge", &huge, &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &i, &["field `dimensions`", "declare more than"]);
    let mut zero = images.clone();
    zero[8..12].copy_from_slice(&0u32.to_be_bytes());
    let (dir, i, _) = case("zero", &zero[..16], &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &i, &["field `dimensions`", "zero dimension"]);

    // two images files: ambiguous, both listed
    let dir = root.join("two");
    write(&dir.join("a-idx3-ubyte"), &images);
    write(&dir.join("b-idx3-ubyte.gz"), &gzip(&images));
    write(&dir.join("labels-idx1-ubyte"), &labels);
    let (e, m) = open_err(&dir, opts);
    assert!(matches!(e, DataError::Layout { .. }), "{e:?}");
    assert_names(
        &m,
        &dir,
        &["a-idx3-ubyte", "b-idx3-ubyte.gz", "expected one"],
    );
    // no labels file
    let dir = root.join("no-labels");
    write(&dir.join("images-idx3-ubyte"), &images);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &dir, &["no MNIST file whose name contains `idx1`"]);
    // 3x4 digits for a 28x28 model
    let (dir, _, _) = case("shape", &images, &labels);
    let (e, m) = open_err(&dir, options(1, 28, 28, None));
    assert!(matches!(e, DataError::Shape { .. }), "{e:?}");
    assert_names(
        &m,
        &dir,
        &["images are (1, 3, 4), the model expects (1, 28, 28)"],
    );
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn paths_that_hold_no_dataset_are_named() {
    let root = scratch("no-dataset");
    let opts = options(3, 32, 32, None);

    // a folder of loose files
    let loose = root.join("loose");
    write(&loose.join("notes.txt"), b"hello");
    write(&loose.join("x.png"), &png_bytes(&rgb_fixture(0, 32, 32).0));
    let (e, m) = open_err(&loose, opts);
    assert!(matches!(e, DataError::Layout { .. }), "{e:?}");
    assert_names(
        &m,
        &loose,
        &["not a dataset", "class folders", "data_batch_*.bin", "idx3"],
    );
    // an empty folder
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (_, m) = open_err(&empty, opts);
    assert_names(&m, &empty, &["not a dataset"]);
    // only hidden folders
    let hidden = root.join("hidden");
    write(
        &hidden.join(".git/x.png"),
        &png_bytes(&rgb_fixture(0, 32, 32).0),
    );
    let (_, m) = open_err(&hidden, opts);
    assert_names(&m, &hidden, &["not a dataset", "no class folders"]);
    // a missing path
    let missing = root.join("does-not-exist");
    let (e, m) = open_err(&missing, opts);
    assert!(matches!(e, DataError::Io { .. }), "{e:?}");
    assert_names(&m, &missing, &["no such file or folder"]);
    // a single file that is not a CIFAR batch (an image given where a folder was meant)
    let file = loose.join("x.png");
    let (_, m) = open_err(&file, opts);
    assert_names(&m, &file, &["field `length`", "not a CIFAR-10 batch"]);
    let _ = std::fs::remove_dir_all(root);
}
