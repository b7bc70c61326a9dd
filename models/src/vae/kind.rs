//! Which of the paper's two models a run trains: the VAE or the conditional VAE.

/// The model a run trains and a checkpoint holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// The VAE.
    Vae,
    /// The conditional VAE (two classes, FRI and FRII).
    Cvae,
}

impl ModelKind {
    /// `vae` or `cvae`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Vae => "vae",
            ModelKind::Cvae => "cvae",
        }
    }
    /// Parses [`ModelKind::name`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vae" => Some(ModelKind::Vae),
            "cvae" => Some(ModelKind::Cvae),
            _ => None,
        }
    }
    /// The classes the network is conditioned on: 2 for the CVAE, 0 for the VAE.
    pub fn classes(self) -> usize {
        match self {
            ModelKind::Vae => 0,
            ModelKind::Cvae => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_none() {
        for k in [ModelKind::Vae, ModelKind::Cvae] {
            assert_eq!(ModelKind::parse(k.name()), Some(k));
        }
        assert_eq!(ModelKind::parse("VAE"), None);
        assert_eq!(
            (ModelKind::Vae.classes(), ModelKind::Cvae.classes()),
            (0, 2)
        );
    }
}
