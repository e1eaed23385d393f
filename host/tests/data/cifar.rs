//! CIFAR-10 binary batches: one file's records in order, a folder's batches in numeric
//! order.

use super::*;

/// A CIFAR-10 record: `label`, then 3,072 pixel bytes derived from `seed`.
pub(super) fn cifar_record(label: u8, seed: u8) -> Vec<u8> {
    let mut r = vec![label];
    r.extend((0..3072usize).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)));
    r
}

#[test]
fn cifar_binary_single_file_records_in_order() {
    let dir = scratch("cifar-file");
    let file = dir.join("test_batch.bin");
    let labels = [3u8, 0, 9, 3, 0];
    let bytes: Vec<u8> = labels
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| cifar_record(l, i as u8 * 11))
        .collect();
    assert_eq!(bytes.len(), 5 * cifar_binary::RECORD_BYTES);
    write(&file, &bytes);
    let d = Dataset::open(&file, options(3, 32, 32, None)).unwrap();
    assert_eq!(d.format, DataFormat::CifarBinary);
    assert_eq!(d.shape, Shape::new(3, 32, 32));
    assert_eq!(d.classes, cifar_binary::CLASSES);
    assert_eq!(d.classes[9], "truck");
    let got: Vec<(usize, &str)> = d
        .samples
        .iter()
        .map(|s| (s.label, s.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, "test_batch.bin#0"),
            (0, "test_batch.bin#1"),
            (9, "test_batch.bin#2"),
            (3, "test_batch.bin#3"),
            (0, "test_batch.bin#4"),
        ]
    );
    for (i, s) in d.samples.iter().enumerate() {
        assert_eq!(s.pixels, cifar_record(0, i as u8 * 11)[1..], "record {i}");
    }
    // the record's pixels are already CHW: red plane, green plane, blue plane
    assert_eq!(d.samples[1].pixels[1024], (1024usize * 7 % 256) as u8 + 11);
    // per class: label order, then file order
    let k = Dataset::open(&file, options(3, 32, 32, Some(1))).unwrap();
    let origins: Vec<&str> = k.samples.iter().map(|s| s.origin.as_str()).collect();
    assert_eq!(
        origins,
        ["test_batch.bin#1", "test_batch.bin#0", "test_batch.bin#2"]
    );
    assert_eq!(k.class_counts(), [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn cifar_binary_folder_reads_data_batches_in_numeric_order() {
    let dir = scratch("cifar-folder");
    write(&dir.join("data_batch_2.bin"), &cifar_record(2, 2));
    write(
        &dir.join("data_batch_10.bin"),
        &[cifar_record(8, 10), cifar_record(1, 11)].concat(),
    );
    write(&dir.join("data_batch_1.bin"), &cifar_record(5, 1));
    // not training batches: ignored in a folder
    write(&dir.join("test_batch.bin"), &cifar_record(7, 99));
    write(&dir.join("data_batch_x.bin"), b"junk");
    write(&dir.join("readme.html"), b"<html>");
    let d = Dataset::open(&dir, options(3, 32, 32, None)).unwrap();
    assert_eq!(d.format, DataFormat::CifarBinary);
    let got: Vec<(usize, &str)> = d
        .samples
        .iter()
        .map(|s| (s.label, s.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (5, "data_batch_1.bin#0"),
            (2, "data_batch_2.bin#0"),
            (8, "data_batch_10.bin#0"),
            (1, "data_batch_10.bin#1"),
        ]
    );
    assert_eq!(d.samples[3].pixels, cifar_record(0, 11)[1..]);
    // class names from batches.meta.txt beside the batches
    write(
        &dir.join("batches.meta.txt"),
        b"a\nb\n\nc\nd\ne\nf\ng\nh\ni\nj\n",
    );
    let named = Dataset::open(&dir, options(3, 32, 32, None)).unwrap();
    assert_eq!(
        named.classes,
        ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    );
    let _ = std::fs::remove_dir_all(dir);
}
