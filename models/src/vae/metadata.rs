//! A run's configuration as checkpoint metadata: the flat `lobes.*` string keys safetensors
//! stores beside the tensors (`lobes.model`, `lobes.pixels`, `lobes.latent`, `lobes.hidden`,
//! `lobes.dropout`, `lobes.slope`, `lobes.scale`, `lobes.likelihood`, `lobes.prior`,
//! `lobes.epoch`, and the run's other settings such as `lobes.lr`).
//!
//! [`RunMetadata`] goes to and from those keys through serde ([`Wire`] names them); the values
//! keep the formats checkpoints have always had (`4096,2048` for the widths, Rust's shortest
//! round-trip decimals for reals), so every checkpoint written before still loads. Those without
//! `lobes.scale`, `lobes.likelihood` or `lobes.prior` were written before the choice existed and
//! get the paper's: `exp`, `bernoulli`, `normal`.

use super::{GuideScale, Likelihood, ModelKind, Prior, VaeConfig};
use crate::error::ModelError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A run's kind, network and epoch, and its other settings, as a checkpoint stores them.
#[derive(Clone, Debug, PartialEq)]
pub struct RunMetadata {
    /// VAE or CVAE.
    pub kind: ModelKind,
    /// The network (its `classes` follows `kind`).
    pub net: VaeConfig,
    /// The epoch the checkpoint was written at (0: before the first).
    pub epoch: usize,
    /// The run's other settings (`data`, `seed`, `lr`, ...), keys without the `lobes.` prefix.
    pub extra: BTreeMap<String, String>,
}

/// The `lobes.*` keys as serde sees them: every value a string, each key optional so a missing
/// one is reported by name.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Wire {
    #[serde(
        rename = "lobes.model",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    model: Option<String>,
    #[serde(
        rename = "lobes.pixels",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pixels: Option<String>,
    #[serde(
        rename = "lobes.latent",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    latent: Option<String>,
    #[serde(
        rename = "lobes.hidden",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    hidden: Option<String>,
    #[serde(
        rename = "lobes.dropout",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    dropout: Option<String>,
    #[serde(
        rename = "lobes.slope",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    slope: Option<String>,
    #[serde(
        rename = "lobes.scale",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    scale: Option<String>,
    #[serde(
        rename = "lobes.likelihood",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    likelihood: Option<String>,
    #[serde(
        rename = "lobes.prior",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    prior: Option<String>,
    #[serde(
        rename = "lobes.epoch",
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    epoch: Option<String>,
    /// Every other key (the run's settings, and keys of other programs).
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

const PREFIX: &str = "lobes.";

/// A present key's value (the map's values are plain strings, not options).
fn some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

impl RunMetadata {
    /// The metadata of a run of `kind` on `net` at `epoch`, with the run's other settings.
    pub fn new(kind: ModelKind, net: &VaeConfig, epoch: usize, extra: &[(&str, String)]) -> Self {
        RunMetadata {
            kind,
            net: net.clone(),
            epoch,
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    /// The flat `lobes.*` string map a checkpoint stores.
    pub fn to_map(&self) -> HashMap<String, String> {
        let net = &self.net;
        let wire = Wire {
            model: Some(self.kind.name().into()),
            pixels: Some(net.pixels.to_string()),
            latent: Some(net.latent.to_string()),
            hidden: Some(
                net.hidden
                    .iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            dropout: Some(net.dropout.to_string()),
            slope: Some(net.slope.to_string()),
            scale: Some(net.scale.name().into()),
            likelihood: Some(net.likelihood.name().into()),
            prior: Some(net.prior.name().into()),
            epoch: Some(self.epoch.to_string()),
            rest: self
                .extra
                .iter()
                .map(|(k, v)| (format!("{PREFIX}{k}"), v.clone()))
                .collect(),
        };
        match serde_json::to_value(&wire) {
            Ok(serde_json::Value::Object(m)) => m
                .into_iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) => Some((k, s)),
                    _ => None,
                })
                .collect(),
            // A struct of strings and a map of strings is always an object of strings.
            _ => unreachable!("Wire serialises to a JSON object of strings"),
        }
    }

    /// Reads a run's metadata back from the map of `checkpoint`. A missing or unreadable key
    /// is a [`ModelError::Metadata`] naming the file and the key; a network that does not
    /// validate is an error naming the file.
    pub fn from_map(meta: &HashMap<String, String>, checkpoint: &Path) -> Result<Self, ModelError> {
        let err = |key: &str, problem: String| ModelError::Metadata {
            path: checkpoint.to_path_buf(),
            key: key.to_string(),
            problem,
        };
        let lacks = |key: &str| err(key, format!("checkpoint lacks a valid '{key}'"));
        let wire = Wire::deserialize(serde::de::value::MapDeserializer::<
            _,
            serde::de::value::Error,
        >::new(
            meta.iter().map(|(k, v)| (k.as_str(), v.as_str()))
        ))
        .map_err(|e| err("", format!("unreadable checkpoint metadata: {e}")))?;
        let get = |key: &str, v: &Option<String>| v.clone().ok_or_else(|| lacks(key));
        let kind = ModelKind::parse(&get("model", &wire.model)?).ok_or_else(|| lacks("model"))?;
        // Numbers read as reals, as checkpoints have always been read.
        let num =
            |key: &str, v: &Option<String>| get(key, v)?.parse::<f64>().map_err(|_| lacks(key));
        let hidden = get("hidden", &wire.hidden)?
            .split(',')
            .map(|v| v.parse().map_err(|_| lacks("hidden")))
            .collect::<Result<Vec<usize>, _>>()?;
        // Checkpoints written before a choice existed use the paper's.
        fn choice<T>(
            v: &Option<String>,
            parse: fn(&str) -> Result<T, ModelError>,
            default: T,
            err: impl Fn(String) -> ModelError,
        ) -> Result<T, ModelError> {
            match v {
                Some(s) => parse(s).map_err(|e| err(e.to_string())),
                None => Ok(default),
            }
        }
        let net = VaeConfig {
            pixels: num("pixels", &wire.pixels)? as usize,
            latent: num("latent", &wire.latent)? as usize,
            hidden,
            dropout: num("dropout", &wire.dropout)?,
            slope: num("slope", &wire.slope)?,
            classes: kind.classes(),
            scale: choice(&wire.scale, GuideScale::parse, GuideScale::Exp, |e| {
                err("scale", e)
            })?,
            likelihood: choice(
                &wire.likelihood,
                Likelihood::parse,
                Likelihood::Bernoulli,
                |e| err("likelihood", e),
            )?,
            prior: choice(&wire.prior, Prior::parse, Prior::Normal, |e| {
                err("prior", e)
            })?,
        };
        net.validate().map_err(|e| {
            ModelError::checkpoint(checkpoint, format!("checkpoint's network: {e}"))
        })?;
        let epoch = num("epoch", &wire.epoch)? as usize;
        let extra = wire
            .rest
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(PREFIX).map(|k| (k.to_string(), v)))
            .collect();
        Ok(RunMetadata {
            kind,
            net,
            epoch,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metadata exactly as the hand-written writer before serde put it in a Table-2 CVAE
    /// checkpoint (keys, and values in its formats).
    fn old_map(with_choices: bool) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("lobes.model", "cvae"),
            ("lobes.pixels", "10000"),
            ("lobes.latent", "32"),
            ("lobes.hidden", "4096,2048,1024,512,256"),
            ("lobes.dropout", "0.2"),
            ("lobes.slope", "0.001"),
            ("lobes.epoch", "1000"),
            ("lobes.data", "frdeep-f:data/FRDEEP-F"),
            ("lobes.seed", "0"),
            ("lobes.lr", "0.001"),
            ("lobes.optim", "adagrad"),
            ("lobes.batch", "100"),
            ("lobes.augment_step", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if with_choices {
            for (k, v) in [
                ("lobes.scale", "softplus"),
                ("lobes.likelihood", "continuous-bernoulli"),
                ("lobes.prior", "laplace"),
            ] {
                m.insert(k.into(), v.into());
            }
        }
        m
    }

    fn table2(classes: usize) -> VaeConfig {
        VaeConfig {
            pixels: 10_000,
            latent: 32,
            hidden: vec![4096, 2048, 1024, 512, 256],
            dropout: 0.2,
            slope: 0.001,
            classes,
            scale: GuideScale::Exp,
            likelihood: Likelihood::Bernoulli,
            prior: Prior::Normal,
        }
    }

    #[test]
    fn metadata_written_before_serde_parses_to_the_same_config() {
        let p = Path::new("old.safetensors");
        let m = RunMetadata::from_map(&old_map(false), p).unwrap();
        assert_eq!((m.kind, m.epoch), (ModelKind::Cvae, 1000));
        assert_eq!(
            m.net,
            table2(2),
            "no scale/likelihood/prior keys: the paper's"
        );
        assert_eq!(m.extra["lr"], "0.001");
        assert_eq!(m.extra["data"], "frdeep-f:data/FRDEEP-F");
        assert_eq!(m.extra.len(), 6);
        let m = RunMetadata::from_map(&old_map(true), p).unwrap();
        assert_eq!(
            (m.net.scale, m.net.likelihood, m.net.prior),
            (
                GuideScale::Softplus,
                Likelihood::ContinuousBernoulli,
                Prior::Laplace
            )
        );
    }

    #[test]
    fn the_map_written_is_the_old_map_and_reads_back() {
        let p = Path::new("new.safetensors");
        let mut old = old_map(true);
        let m = RunMetadata::from_map(&old, p).unwrap();
        assert_eq!(m.to_map(), old, "same keys, same value formats");
        // A real that is whole is written as Rust writes it ("1", not "1.0").
        old.insert("lobes.dropout".into(), "1".into());
        let mut net = m.net.clone();
        net.dropout = 1.0;
        let again = RunMetadata { net, ..m };
        assert_eq!(again.to_map()["lobes.dropout"], "1");
    }

    #[test]
    fn a_missing_or_bad_key_is_an_error_naming_the_file_and_the_key() {
        let p = Path::new("dir/run.safetensors");
        for (key, value) in [
            ("model", None),
            ("model", Some("gan")),
            ("pixels", Some("many")),
            ("hidden", Some("4096,x")),
            ("epoch", None),
        ] {
            let mut m = old_map(false);
            match value {
                None => m.remove(&format!("lobes.{key}")),
                Some(v) => m.insert(format!("lobes.{key}"), v.into()),
            };
            let e = RunMetadata::from_map(&m, p).unwrap_err();
            assert!(
                matches!(&e, ModelError::Metadata { key: k, .. } if k == key),
                "{key}: {e:?}"
            );
            assert_eq!(
                e.to_string(),
                format!("dir/run.safetensors: checkpoint lacks a valid '{key}'")
            );
        }
        let mut m = old_map(false);
        m.insert("lobes.likelihood".into(), "poisson".into());
        let e = RunMetadata::from_map(&m, p).unwrap_err().to_string();
        assert!(
            e.starts_with("dir/run.safetensors: ") && e.contains("poisson"),
            "{e}"
        );
    }
}
