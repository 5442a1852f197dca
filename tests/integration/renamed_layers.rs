//! The layers' old names (`ReLU`, `GRU`, `LSTMCell`, ...) still compile for one release, as deprecated
//! aliases of the new ones: in the type namespace and, for the unit structs, as values.

#![allow(deprecated)]

use wengert::nn::{
    GELU, GRU, GRUCell, Gelu, Gru, GruCell, LSTM, LSTMCell, LeakyReLU, LeakyRelu, Lstm, LstmCell, Module,
    ParamStore, RNN, RNNCell, ReLU, Relu, Rnn, RnnCell, Sequential,
};
use wengert::prelude::*;

#[test]
fn old_activation_names_are_the_new_types_and_values() {
    let relu: ReLU = ReLU;
    let gelu: GELU = GELU;
    let leaky: LeakyReLU = LeakyReLU { slope: 0.1 };
    let (_, _, _): (Relu, Gelu, LeakyRelu) = (relu, gelu, leaky);
    let store = ParamStore::<f64>::with_seed(0);
    let model = Sequential::new(&store.root()).add(|_| ReLU).add(|_| GELU).add(|_| LeakyReLU::default());
    let tape = Tape::new();
    let x = tape.constant(Tensor::from_vec(vec![-1.0, 0.5, 2.0], &[3]).unwrap());
    let new = Sequential::new(&store.root()).add(|_| Relu).add(|_| Gelu).add(|_| LeakyRelu::default());
    assert_eq!(model.forward(x).value(), new.forward(x).value());
    assert_eq!(leaky.forward(x).value().to_vec(), vec![-0.1, 0.5, 2.0]);
}

#[test]
fn old_recurrent_names_are_the_new_types() {
    let store = ParamStore::<f64>::with_seed(0);
    let root = store.root();
    let _: Rnn<f64> = RNN::new(&root.sub("a"), 2, 3);
    let _: Gru<f64> = GRU::new(&root.sub("b"), 2, 3);
    let lstm: Lstm<f64> = LSTM::new(&root.sub("c"), 2, 3);
    let _: RnnCell<f64> = RNNCell::new(&root.sub("d"), 2, 3);
    let _: GruCell<f64> = GRUCell::new(&root.sub("e"), 2, 3);
    let cell: LstmCell<f64> = LSTMCell::new(&root.sub("f"), 2, 3);
    assert_eq!(store.parameters()[0].name(), "a.weight_ih_l0");
    assert_eq!((lstm.hidden_size(), cell.parameters()[0].shape()), (3, vec![12, 2]));
}
