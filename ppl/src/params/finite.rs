//! Finding non-finite parameters: a store whose training blew up (or a checkpoint written from
//! one) holds NaN or infinite values that every model built from it passes on, so readers of
//! checkpoints refuse it by name instead of producing NaN images.

use super::ParamStore;

/// A parameter holding a NaN or an infinity: its first such element.
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    /// The parameter's name.
    pub name: String,
    /// The element's position in the flattened (row-major) unconstrained value.
    pub index: usize,
    /// The element: NaN, inf or -inf.
    pub value: f32,
    /// How many of the parameter's elements are not finite.
    pub count: usize,
    /// The parameter's number of elements.
    pub numel: usize,
}

impl std::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "parameter '{}' holds {} at element {} ({} of its {} values not finite)",
            self.name, self.value, self.index, self.count, self.numel
        )
    }
}

impl ParamStore {
    /// The first parameter, in order of creation, whose stored (unconstrained) value holds a
    /// NaN or an infinity, with its first such element; `None` when every value is finite.
    /// Each parameter is read back to the host in turn, so the check needs the memory of the
    /// largest one.
    ///
    /// ```
    /// use lobes_ppl::{Constraint, DTensor, ParamStore};
    /// use burn::prelude::Device;
    /// let mut store = ParamStore::new();
    /// let d = Device::default();
    /// let w = DTensor::from_floats(vec![1.0, 2.0], &[2], &d).unwrap();
    /// store.set_unconstrained("w", w, Constraint::Real);
    /// assert_eq!(store.first_non_finite(), None);
    /// let b = DTensor::from_floats(vec![0.0, f32::NAN, f32::INFINITY], &[3], &d).unwrap();
    /// store.set_unconstrained("b", b, Constraint::Real);
    /// let bad = store.first_non_finite().unwrap();
    /// assert_eq!((bad.name.as_str(), bad.index, bad.count), ("b", 1, 2));
    /// ```
    pub fn first_non_finite(&self) -> Option<NonFinite> {
        self.names().iter().find_map(|name| {
            let t = &self.entry(name)?.unconstrained;
            let values = t.to_vec();
            let index = values.iter().position(|v| !v.is_finite())?;
            Some(NonFinite {
                name: name.clone(),
                index,
                value: values[index],
                count: values.iter().filter(|v| !v.is_finite()).count(),
                numel: values.len(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Constraint, DTensor, ParamStore};
    use burn::prelude::Device;

    #[test]
    fn the_first_non_finite_parameter_is_named_with_its_element() {
        let d = Device::default();
        let t = |v: Vec<f32>| DTensor::from_floats(v.clone(), &[v.len()], &d).unwrap();
        let mut store = ParamStore::new();
        store.set_unconstrained("w", t(vec![1.0, -2.0]), Constraint::Real);
        store.set_unconstrained("s", t(vec![0.5]), Constraint::Positive);
        assert_eq!(store.first_non_finite(), None);
        store.set_unconstrained(
            "b",
            t(vec![0.0, 1.0, f32::NEG_INFINITY, f32::NAN]),
            Constraint::Real,
        );
        store.set_unconstrained("c", t(vec![f32::NAN]), Constraint::Real);
        let bad = store.first_non_finite().expect("found");
        assert_eq!(
            (bad.name.as_str(), bad.index, bad.count, bad.numel),
            ("b", 2, 2, 4)
        );
        assert_eq!(bad.value, f32::NEG_INFINITY);
        let shown = bad.to_string();
        assert!(
            shown.contains("'b'") && shown.contains("-inf") && shown.contains("element 2"),
            "{shown}"
        );
    }
}
