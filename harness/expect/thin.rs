//! Evenly spaced, bounded subsets of long traces: what the report plots and the record keeps of
//! an expected trace, so that a year of samples costs the same memory as a day.

/// Most points a plotted trace keeps. Every scenario in `scenarios/` has fewer samples, so their
/// reports show every sample; a longer trace shows every 2ⁿ-th one and always its last.
pub const PLOT_POINTS: usize = 2000;

/// Keeps every `stride`-th item of a sequence whose length is not known in advance, doubling
/// the stride (and dropping every other kept item) whenever more than `cap` are kept, plus the
/// last item. The result depends only on the sequence, so re-rendering gives the same bytes.
#[derive(Debug)]
pub struct Thinner<T> {
    cap: usize,
    stride: usize,
    seen: usize,
    kept: Vec<T>,
    last: Option<T>,
}

impl<T> Thinner<T> {
    pub fn new(cap: usize) -> Thinner<T> {
        Thinner {
            cap: cap.max(2),
            stride: 1,
            seen: 0,
            kept: Vec::new(),
            last: None,
        }
    }

    pub fn push(&mut self, item: T) {
        if self.seen % self.stride == 0 {
            self.kept.push(item);
            self.last = None;
            if self.kept.len() > self.cap {
                self.stride *= 2;
                let mut index = 0;
                self.kept.retain(|_| {
                    index += 1;
                    index % 2 == 1
                });
            }
        } else {
            self.last = Some(item);
        }
        self.seen += 1;
    }

    /// How many items were pushed.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// The kept items in order, ending with the last one pushed.
    pub fn finish(self) -> Vec<T> {
        let mut kept = self.kept;
        kept.extend(self.last);
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thin(n: usize, cap: usize) -> Vec<usize> {
        let mut t = Thinner::new(cap);
        (0..n).for_each(|i| t.push(i));
        t.finish()
    }

    #[test]
    fn a_short_sequence_is_kept_whole() {
        assert_eq!(thin(5, 10), vec![0, 1, 2, 3, 4]);
        assert_eq!(thin(10, 10), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_long_sequence_keeps_an_even_stride_and_its_last_item() {
        let kept = thin(1_051_201, PLOT_POINTS);
        assert!(kept.len() <= PLOT_POINTS + 1, "{}", kept.len());
        assert!(kept.len() > PLOT_POINTS / 2, "{}", kept.len());
        assert_eq!(kept[0], 0);
        assert_eq!(*kept.last().unwrap(), 1_051_200);
        let stride = kept[1] - kept[0];
        assert!(stride.is_power_of_two());
        assert!(kept[..kept.len() - 1]
            .windows(2)
            .all(|w| w[1] - w[0] == stride));
    }

    #[test]
    fn the_last_item_is_not_repeated_when_it_falls_on_the_stride() {
        let kept = thin(11, 10);
        assert_eq!(kept, vec![0, 2, 4, 6, 8, 10]);
    }
}
