//! `History::plot_svg`: the loss and each metric against the epoch, training and validation curves
//! together, one panel per quantity, drawn with plotters into an SVG file.

use std::path::Path;

use plotters::prelude::*;

use super::history::History;

/// The width and the height of one panel, in pixels.
const PANEL: (u32, u32) = (640, 320);

impl History {
    /// Draws the curves of the training into an SVG file at `path`: a panel for the loss and one for
    /// each metric, each with the training curve (blue) and, when there is one, the validation curve
    /// (orange), named in a legend (`loss`, `val_loss`, `accuracy`, ...).
    ///
    /// ```
    /// use wengert::nn::train::{EpochLog, History};
    /// let log = |epoch, loss| EpochLog { epoch, loss, metrics: vec![], val_loss: Some(loss * 1.1), val_metrics: vec![], lr: 0.01 };
    /// let history = History { epochs: vec![log(1, 1.0), log(2, 0.5), log(3, 0.25)], ..History::default() };
    /// let path = std::env::temp_dir().join(format!("wengert-doc-plot-{}.svg", std::process::id()));
    /// history.plot_svg(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.contains("val_loss"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The I/O error when `path` cannot be written (an empty history draws empty panels).
    pub fn plot_svg(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let path = path.as_ref();
        let quantities: Vec<String> =
            self.columns().into_iter().filter(|c| c != "lr" && !c.starts_with("val_")).collect();
        let height = PANEL.1 * quantities.len() as u32;
        let root = SVGBackend::new(path, (PANEL.0, height)).into_drawing_area();
        let fail =
            |e: &dyn std::fmt::Display| std::io::Error::other(format!("plot_svg: {}: {e}", path.display()));
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let panels = root.split_evenly((quantities.len(), 1));
        for (name, panel) in quantities.iter().zip(&panels) {
            self.draw_panel(panel, name).map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))
    }

    /// One panel: `name` and `val_` + `name` against the epoch.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        name: &str,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let val_name = format!("val_{name}");
        let curve = |n: &str| -> Vec<(f64, f64)> {
            self.epochs
                .iter()
                .filter_map(|e| e.get(n).filter(|v| v.is_finite()).map(|v| (e.epoch as f64, v)))
                .collect()
        };
        let (train, val) = (curve(name), curve(&val_name));
        let points = || train.iter().chain(&val);
        let (x0, x1) =
            points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (y0, y1) =
            points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let (x0, x1) = if x0 <= x1 { (x0, x1.max(x0 + 1.0)) } else { (1.0, 2.0) };
        let (y0, y1) = if y0 <= y1 { (y0, y1) } else { (0.0, 1.0) };
        let pad = ((y1 - y0) * 0.05).max(1e-12);
        let mut chart = ChartBuilder::on(area)
            .caption(name, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
        chart.configure_mesh().x_desc("epoch").draw()?;
        let series = [(name, train, BLUE), (val_name.as_str(), val, RGBColor(230, 120, 20))];
        for (label, points, color) in series {
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()
    }
}

#[cfg(test)]
mod tests {
    use super::super::history::EpochLog;
    use super::*;

    #[test]
    fn the_svg_holds_a_curve_per_series_and_names_each() {
        let epochs = (1..=5)
            .map(|epoch| EpochLog {
                epoch,
                loss: 1.0 / epoch as f64,
                metrics: vec![("accuracy".into(), 0.5 + 0.1 * epoch as f64)],
                val_loss: Some(1.2 / epoch as f64),
                val_metrics: vec![("accuracy".into(), 0.4 + 0.1 * epoch as f64)],
                lr: 0.01,
            })
            .collect();
        let history = History { epochs, ..History::default() };
        let path = std::env::temp_dir().join(format!("wengert-plot-{}.svg", std::process::id()));
        history.plot_svg(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        for label in ["loss", "val_loss", "accuracy", "val_accuracy"] {
            assert!(svg.contains(&format!(">\n{label}\n</text>")), "no label {label}");
        }
        // The four curves: lines of width 2 through five points (the legend's samples have two).
        let curves: Vec<&str> = svg
            .split("stroke-width=\"2\" points=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .filter(|points| points.split_whitespace().count() == 5)
            .collect();
        assert_eq!(curves.len(), 4, "{curves:?}");
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let err = History::default().plot_svg("/nonexistent-dir/h.svg").unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/h.svg"), "{err}");
    }
}
