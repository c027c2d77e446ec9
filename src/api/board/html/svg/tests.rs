use super::*;

fn group(key: &str, values: &[Option<f64>]) -> Group {
    Group {
        key: key.into(),
        label: key.into(),
        values: values.to_vec(),
        note: String::new(),
    }
}

fn chart<'a>(series: &'a [&'a str], groups: &'a [Group], unit: Unit) -> Chart<'a> {
    Chart {
        id: "chart-test",
        title: "Test chart",
        axis: "blocks",
        unit,
        series,
        groups,
        empty: "nothing yet",
    }
}

/// The `<rect class="bar" ...>` tags of a chart, each as its attribute text (from the space
/// before `data-series`).
fn bars_of(svg: &str) -> Vec<String> {
    svg.split("<rect class=\"bar\"")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .map(str::to_owned)
        .collect()
}

/// An attribute's value in a tag's attribute text.
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    tag.split(&format!(" {name}=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

#[test]
fn one_bar_per_value_as_tall_as_its_share_of_the_axis() {
    let groups = [
        group("dn1", &[Some(10.0), Some(2.0)]),
        group("dn2", &[Some(5.0), None]),
        group("dn3", &[Some(0.0), Some(1.0)]),
    ];
    let out = bar_chart(&chart(&["big file", "county files"], &groups, Unit::Count));
    let bars = bars_of(&out);
    assert_eq!(bars.len(), 5, "{out}");
    let by = |key: &str, series: &str| {
        bars.iter()
            .find(|b| attr(b, "data-key") == key && attr(b, "data-series") == series)
            .map(|b| attr(b, "height").parse::<f64>().unwrap_or(-1.0))
    };
    // 10 is the axis's top: the whole plot height; 5 half of it; 0 no height at all
    assert_eq!(by("dn1", "big file"), Some(plot_height()));
    assert_eq!(by("dn2", "big file"), Some(plot_height() / 2.0));
    assert_eq!(by("dn3", "big file"), Some(0.0));
    assert_eq!(by("dn2", "county files"), None);
    assert!(out.contains("<title>dn1 · big file: 10</title>"), "{out}");
    // axis ticks, the axis label, the legend and the group labels
    for text in [">0<", ">5<", ">10<", ">blocks<", ">county files<", ">dn3<"] {
        assert!(out.contains(text), "{text} in {out}");
    }
    // the text fallback has every number, a dash for the missing one
    assert!(
        out.contains("<tr><th>dn2</th><td class=\"num\">5</td><td class=\"num\">-</td></tr>"),
        "{out}"
    );
}

#[test]
fn no_data_says_so_instead_of_drawing() {
    for groups in [
        vec![],
        vec![group("create", &[None]), group("reuse", &[Some(0.0)])],
    ] {
        let out = bar_chart(&chart(&["median"], &groups, Unit::Seconds));
        assert!(out.contains(">nothing yet<"), "{out}");
        assert!(out.contains("id=\"chart-test\""), "{out}");
        assert!(
            bars_of(&out)
                .iter()
                .all(|b| attr(b, "height").parse::<f64>() == Ok(0.0)),
            "{out}"
        );
        assert!(!out.contains("NaN") && !out.contains("inf"), "{out}");
    }
}

#[test]
fn huge_and_invalid_values_stay_on_the_chart() {
    let groups = [
        group("max", &[Some(u64::MAX as f64)]),
        group("tiny", &[Some(1.0)]),
        group("nan", &[Some(f64::NAN)]),
        group("inf", &[Some(f64::INFINITY)]),
        group("negative", &[Some(-3.0)]),
    ];
    let out = bar_chart(&chart(&["rows"], &groups, Unit::Count));
    let bars = bars_of(&out);
    assert_eq!(bars.len(), 2, "only finite values >= 0 are drawn: {out}");
    for bar in &bars {
        let (y, height) = (attr(bar, "y"), attr(bar, "height"));
        let (y, height): (f64, f64) = (y.parse().unwrap_or(-1.0), height.parse().unwrap_or(-1.0));
        assert!(y >= TOP && y + height <= TOP + plot_height() + 0.1, "{bar}");
        // a value far below the top still shows as a sliver
        assert!(height >= 1.0, "{bar}");
    }
    assert!(out.contains("18,446,744,073,709,551,615"), "{out}");
    assert!(out.contains(">20E<") || out.contains(">25E<"), "{out}");
    assert!(
        !out.contains("NaN") && !out.contains(">inf</text>"),
        "{out}"
    );
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let evil = "<script>alert(\"x\")</script>&'";
    let groups = [Group {
        key: evil.into(),
        label: evil.into(),
        values: vec![Some(1.0)],
        note: evil.into(),
    }];
    let series = [evil, evil];
    let chart = Chart {
        id: evil,
        title: evil,
        axis: evil,
        unit: Unit::Count,
        series: &series,
        groups: &groups,
        empty: evil,
    };
    let out = bar_chart(&chart);
    assert!(!out.contains("<script") && !out.contains("\"x\""), "{out}");
    assert!(out.contains("&lt;script&gt;alert(&quot;x&quot;)"), "{out}");
}

#[test]
fn long_labels_are_cut_and_whole_in_their_tooltip() {
    let many: Vec<Group> = (0..10)
        .map(|i| {
            group(
                &format!("a-very-long-datanode-name-{i}.example"),
                &[Some(1.0)],
            )
        })
        .collect();
    let out = bar_chart(&chart(&["blocks"], &many, Unit::Count));
    assert!(
        out.contains("…<title>a-very-long-datanode-name-0.example</title>"),
        "{out}"
    );
    assert_eq!(bars_of(&out).len(), 10);
}

#[test]
fn axis_tops_and_numbers_read_round() {
    let top = |max: f64| nice_ceiling(Some(max));
    assert_eq!(top(7.0), Some(10.0));
    assert_eq!(top(10.0), Some(10.0));
    assert_eq!(top(11.0), Some(20.0));
    assert_eq!(top(0.0031), Some(0.005));
    assert_eq!(top(212_000.0), Some(250_000.0));
    assert_eq!(nice_ceiling(None), None);
    assert_eq!(compact(950.0), "950");
    assert_eq!(compact(1500.0), "1.5k");
    assert_eq!(compact(426_716.0), "427k");
    assert_eq!(compact(2_000_000.0), "2M");
    assert_eq!(seconds(0.0), "0 s");
    assert_eq!(seconds(0.0025), "2.5 ms");
    assert_eq!(seconds(12.34), "12.3 s");
    assert_eq!(seconds(150.0), "2.5 min");
}
