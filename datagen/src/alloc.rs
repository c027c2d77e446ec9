//! Exact-count allocation: splitting a total into integer parts that add up exactly.

/// Splits `total` into `weights.len()` non-negative integers proportional to `weights` that add up
/// to exactly `total` (largest-remainder / Hamilton method).
///
/// The weights are first turned into integers (48 bits of precision relative to the largest one),
/// so the quotas and remainders are computed exactly in integer arithmetic: no float rounding can
/// make the parts miss the total. Ties in the remainders go to the lower index. A zero weight
/// always gets zero.
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    assert!(!weights.is_empty(), "apportion over nothing");
    let wmax = weights.iter().cloned().fold(0.0_f64, f64::max);
    assert!(
        weights.iter().all(|w| w.is_finite() && *w >= 0.0) && wmax > 0.0,
        "apportion needs finite non-negative weights, not all zero: {weights:?}"
    );
    let scale = (1u64 << 48) as f64;
    let iw: Vec<u128> = weights
        .iter()
        .map(|w| (w / wmax * scale).round() as u128)
        .collect();
    let wsum: u128 = iw.iter().sum();
    let mut parts: Vec<u64> = Vec::with_capacity(iw.len());
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(iw.len());
    for (i, &w) in iw.iter().enumerate() {
        let num = total as u128 * w;
        parts.push((num / wsum) as u64);
        if w > 0 {
            rems.push((num % wsum, i));
        }
    }
    let given: u64 = parts.iter().sum();
    let left = total - given;
    // largest remainder first; equal remainders: lower index first
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert!(left as usize <= rems.len());
    for &(_, i) in rems.iter().take(left as usize) {
        parts[i] += 1;
    }
    debug_assert_eq!(parts.iter().sum::<u64>(), total);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_exactly() {
        for total in [0u64, 1, 7, 1000, 447_367, 4_473_670] {
            let w = [0.1, 0.2, 0.3, 1e-9, 0.0, 123.456, 0.3333];
            let p = apportion(total, &w);
            assert_eq!(p.iter().sum::<u64>(), total);
            assert_eq!(p[4], 0, "zero weight gets zero");
        }
    }

    #[test]
    fn proportional_within_one() {
        let w = [389_217.0, 30_496.0, 24_551.0, 3_103.0];
        assert_eq!(apportion(447_367, &w), vec![389_217, 30_496, 24_551, 3_103]);
        assert_eq!(
            apportion(4_473_670, &w),
            vec![3_892_170, 304_960, 245_510, 31_030]
        );
        let w = [1.0, 1.0, 1.0];
        // 10 / 3: one extra to the lowest index
        assert_eq!(apportion(10, &w), vec![4, 3, 3]);
        let w = [2.5, 7.5];
        assert_eq!(apportion(3, &w), vec![1, 2]);
        let p = apportion(100_000, &[0.37, 0.21, 0.42]);
        assert_eq!(p, vec![37_000, 21_000, 42_000]);
    }

    #[test]
    fn deterministic() {
        let w: Vec<f64> = (1..200).map(|i| 1.0 / i as f64).collect();
        assert_eq!(apportion(12_345, &w), apportion(12_345, &w));
    }
}
