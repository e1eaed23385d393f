//! Per-channel normalization on unit pixels, and its refusals.

use super::*;

#[test]
fn normalization_is_per_channel_on_unit_pixels() {
    // one CIFAR record: red plane 255, green plane 0, blue plane 51 (0.2), first pixel of
    // each plane 128
    let dir = scratch("norm");
    let mut record = vec![1u8];
    record.extend([255u8; 1024]);
    record.extend([0u8; 1024]);
    record.extend([51u8; 1024]);
    for c in 0..3 {
        record[1 + c * 1024] = 128;
    }
    let file = dir.join("one.bin");
    write(&file, &record);
    let d = Dataset::open(&file, options(3, 32, 32, None)).unwrap();

    let imagenet = Normalization::imagenet();
    assert_eq!(imagenet.mean, [0.485, 0.456, 0.406]);
    assert_eq!(imagenet.std, [0.229, 0.224, 0.225]);
    imagenet.check(3).unwrap();
    let x = d.input(0, &imagenet);
    assert_eq!(x.len(), 3072);
    let close =
        |got: f32, want: f64| assert!((f64::from(got) - want).abs() < 1e-5, "{got} vs {want}");
    close(x[1], (1.0 - 0.485) / 0.229); // 2.2489...
    close(x[1023], (1.0 - 0.485) / 0.229);
    close(x[1024 + 1], (0.0 - 0.456) / 0.224); // -2.0357...
    close(x[2048 + 1], (0.2 - 0.406) / 0.225); // -0.9155...
    close(x[0], (128.0 / 255.0 - 0.485) / 0.229);
    close(x[1024], (128.0 / 255.0 - 0.456) / 0.224);
    close(x[2048], (128.0 / 255.0 - 0.406) / 0.225);
    close(x[3071], (0.2 - 0.406) / 0.225);

    let identity = Normalization::identity(3);
    assert_eq!(identity.mean, [0.0; 3]);
    assert_eq!(identity.std, [1.0; 3]);
    let y = d.input(0, &identity);
    close(y[1], 1.0);
    close(y[1025], 0.0);
    close(y[2049], 0.2);
    close(y[0], 128.0 / 255.0);

    let custom = Normalization {
        mean: vec![0.5, 0.25, -1.0],
        std: vec![0.5, 2.0, 4.0],
    };
    custom.check(3).unwrap();
    let z = d.input(0, &custom);
    close(z[1], 1.0);
    close(z[1025], -0.125);
    close(z[2049], 0.3);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn normalization_refuses_wrong_channel_counts_and_bad_values() {
    let check = |mean: Vec<f32>, std: Vec<f32>, channels: usize| {
        Normalization { mean, std }
            .check(channels)
            .expect_err("should be refused")
            .to_string()
    };
    let e = Normalization::imagenet().check(1).unwrap_err().to_string();
    assert_eq!(e, "normalization `mean`: 3 values for 1 channels");
    let e = check(vec![0.5; 3], vec![0.2; 2], 3);
    assert_eq!(e, "normalization `std`: 2 values for 3 channels");
    let e = check(vec![0.5], vec![0.0], 1);
    assert_eq!(e, "normalization `std`: 0 must be > 0");
    let e = check(vec![0.5; 3], vec![0.2, -0.1, 0.2], 3);
    assert_eq!(e, "normalization `std`: -0.1 must be > 0");
    let e = check(vec![0.5, f32::NAN, 0.5], vec![0.2; 3], 3);
    assert_eq!(e, "normalization `mean`: NaN is not finite");
    let e = check(vec![0.5], vec![f32::INFINITY], 1);
    assert_eq!(e, "normalization `std`: inf is not finite");
    Normalization::identity(1).check(1).unwrap();
}
