//! `module`: burn modules' parameters as param sites.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use lobes_ppl::prelude::*;
use lobes_ppl::{ParamStore, SiteKind, with_param_store};
use std::collections::HashMap;

#[derive(Module, Debug)]
struct Net {
    l1: Linear,
    drop: Dropout,
    l2: Linear,
}

impl Net {
    fn new(d: &Device) -> Self {
        Net {
            l1: LinearConfig::new(3, 4).init(d),
            drop: DropoutConfig::new(0.5).init(),
            l2: LinearConfig::new(4, 2).init(d),
        }
    }
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.l2.forward(self.drop.forward(self.l1.forward(x)))
    }
}

#[test]
fn module_registers_every_parameter_with_pytorch_names() {
    let d = Device::flex();
    let net = Net::new(&d);
    let mut store = ParamStore::new();
    let (_, tr) = with_param_store(&mut store, || trace(|| module("net", &net))).unwrap();
    let mut names: Vec<String> = tr.param_sites().map(|s| s.name.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "net.l1.bias",
            "net.l1.weight",
            "net.l2.bias",
            "net.l2.weight"
        ]
    );
    assert!(tr.sites().iter().all(|s| s.kind == SiteKind::Param));
    assert_eq!(store.len(), 4);
}

#[test]
fn module_returns_the_stored_values() {
    let d = Device::flex();
    let net = Net::new(&d);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || module("net", &net)).unwrap();
    // Change the stored weight: the next `module` call must see it, not the template's.
    let w = store.get("net.l2.bias").unwrap();
    store.set_unconstrained("net.l2.bias", w.add_scalar(100.0), Constraint::Real);
    let x = Tensor::<2>::zeros([1, 3], &d);
    let out = with_param_store(&mut store, || no_grad(|| module("net", &net)))
        .unwrap()
        .forward(x.clone());
    let tmpl = no_grad(|| net.valid().forward(x));
    let diff: Vec<f32> = (out - tmpl).try_into_vec_as::<f32>().unwrap();
    assert!(diff.iter().all(|v| (v - 100.0).abs() < 1e-4), "{diff:?}");
}

#[test]
fn substitute_reaches_module_parameters() {
    let d = Device::flex();
    let net = Net::new(&d);
    let data = HashMap::from([("net.l2.bias".to_string(), DTensor::full(&[2], 3.0, &d))]);
    let mut store = ParamStore::new();
    let m = with_param_store(&mut store, || substitute(data, || module("net", &net))).unwrap();
    let b: Vec<f32> = m.l2.bias.unwrap().val().try_into_vec_as::<f32>().unwrap();
    assert_eq!(b, vec![3.0, 3.0]);
}

#[test]
fn no_grad_puts_modules_in_evaluation_mode() {
    let d = Device::flex().autodiff();
    let net = Net::new(&d);
    let x = Tensor::<2>::ones([64, 3], &d);
    let mut store = ParamStore::new();
    let eval = with_param_store(&mut store, || no_grad(|| module("net", &net))).unwrap();
    let a: Vec<f32> = eval.forward(x.clone()).try_into_vec_as::<f32>().unwrap();
    let b: Vec<f32> = eval.forward(x).try_into_vec_as::<f32>().unwrap();
    assert_eq!(a, b, "dropout must be off in evaluation mode");
}
