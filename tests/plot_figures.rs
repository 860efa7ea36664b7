//! The figures: every SVG is well-formed XML, each heatmap has one cell per config (band cells
//! outlined), the curves and trajectories have one point per config with a value, and
//! report.html references every figure written.

use crate::plot_common;

use mha_cv::report::figures::{figure_files, write_report};
use plot_common::{check_xml, figure_input, temp_dir, DIMS, HEADS};

#[test]
fn the_xml_checker_rejects_malformed_documents() {
    assert!(check_xml("<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>t &amp; u</a>\n").is_ok());
    for bad in [
        "<a><b></a></b>",
        "<a>",
        "<a x=1/>",
        "<a x=\"1\" x=\"2\"/>",
        "<a>&nbsp;</a>",
        "<a/><b/>",
        "<a>x & y</a>",
    ] {
        assert!(check_xml(bad).is_err(), "{bad}");
    }
}

#[test]
fn figures_parse_and_hold_one_cell_per_config() {
    let dir = temp_dir("figures");
    let input = figure_input();
    let written = write_report(&dir, &input).unwrap();
    assert_eq!(input.metrics, ["emb", "act_Q_h0"]);
    assert_eq!(written.len(), 2 * 3 + 1);
    let configs = DIMS.len() * HEADS.len();

    for metric in &input.metrics {
        let [heat, curves, traj] =
            figure_files(metric).map(|f| std::fs::read_to_string(dir.join(f)).unwrap());
        for doc in [&heat, &curves, &traj] {
            let names = check_xml(doc).unwrap_or_else(|e| panic!("{metric}: {e}"));
            assert_eq!(names[0], "svg");
        }
        assert_eq!(heat.matches("class=\"cell").count(), configs, "{metric}");
        for dim in DIMS {
            for heads in HEADS {
                let tag = format!("data-dim=\"{dim}\" data-heads=\"{heads}\"");
                assert_eq!(heat.matches(&tag).count(), 1, "{metric} {tag}");
            }
        }
        // Curves: one point per config with a post value; trajectories: one per config × phase
        // with a value (every config here: the N/A is in one seed of two).
        let valued = |phase: &str| {
            input
                .rows
                .iter()
                .filter(|r| r.metric == *metric && r.phase == phase && r.cv_mean.is_some())
                .count()
        };
        assert_eq!(valued("post"), configs);
        assert_eq!(
            curves.matches("class=\"point\"").count(),
            valued("post"),
            "{metric}"
        );
        let all = valued("pre") + valued("mid") + valued("post");
        assert_eq!(traj.matches("class=\"point\"").count(), all, "{metric}");
        assert_eq!(curves.matches("class=\"null\"").count(), DIMS.len());
    }

    // Band cells: the whole interval in (0.13, 0.30). The emb cell of D=64 heads=2 has a seed
    // with N/A, so it is not flagged; band cells carry the outline.
    let heat = std::fs::read_to_string(dir.join(&figure_files("emb")[0])).unwrap();
    let band = input
        .rows
        .iter()
        .filter(|r| r.phase == "post" && r.metric == "emb" && r.band)
        .count();
    assert!(
        band > 0 && band < configs,
        "{band} band cells: the test data should have some"
    );
    assert_eq!(heat.matches("class=\"cell band\"").count(), band);
    assert_eq!(heat.matches("stroke-width=\"3\"").count(), band);
    let half = input.get(64, 2, "post", "emb").unwrap();
    assert_eq!((half.n_seeds, half.n_valid, half.band), (2, 1, false));

    // The page references every figure, and each reference exists.
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for path in &written[..written.len() - 1] {
        let rel = path.strip_prefix(&dir).unwrap().to_str().unwrap();
        assert!(
            html.contains(&format!("src=\"{rel}\"")),
            "{rel} not in report.html"
        );
    }
    assert_eq!(html.matches("<img ").count(), written.len() - 1);
    assert!(
        html.contains("test &lt;report&gt; &amp; co"),
        "title escaped"
    );
    assert_eq!(
        html.matches("<tr>").count(),
        2 * (1 + configs),
        "post table and movement table"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
