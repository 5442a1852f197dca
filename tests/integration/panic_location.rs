//! A shape panic reports the user's own line: Var operators, `matmul`, and a layer inside `Sequential`.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use wengert::nn::{Linear, Module, ParamStore, Relu, Sequential};
use wengert::tape::Tape;
use wengert::tensor::Tensor;

thread_local! {
    static EXPECTING: Cell<bool> = const { Cell::new(false) };
    static CAUGHT: RefCell<Option<(String, u32, String)>> = const { RefCell::new(None) };
}

/// Runs `f`, which must panic, and returns the file and line the panic reported and its message.
fn panic_site(f: impl FnOnce()) -> (String, u32, String) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // The hook runs on the panicking thread, so tests running in parallel each see their own panic;
        // a panic nobody expects (a failed assertion) goes to the default hook.
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTING.with(Cell::get) {
                return default(info);
            }
            let (file, line) = info.location().map_or((String::new(), 0), |l| (l.file().into(), l.line()));
            let message = info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            CAUGHT.with(|c| *c.borrow_mut() = Some((file, line, message)));
        }));
    });
    CAUGHT.with(|c| c.borrow_mut().take());
    EXPECTING.with(|e| e.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTING.with(|e| e.set(false));
    assert!(result.is_err(), "expected a panic");
    CAUGHT.with(|c| c.borrow_mut().take()).expect("the panic hook saw no panic")
}

/// Evaluates and discards a value (a Var is `Copy`, so `drop` would draw a lint).
fn ignore<T>(_value: T) {}

fn site(caught: &(String, u32, String)) -> (String, u32) {
    (caught.0.clone(), caught.1)
}

#[test]
fn adding_vars_of_mismatched_shapes_reports_the_adding_line() {
    let tape = Tape::<f32>::new();
    let (a, b) = (tape.var(Tensor::zeros(&[2, 3])), tape.var(Tensor::zeros(&[4, 5])));
    let caught = panic_site(|| ignore(a + b));
    assert_eq!(site(&caught), (file!().to_string(), line!() - 1), "{}", caught.2);
    assert!(caught.2.contains("[2, 3]") && caught.2.contains("[4, 5]"), "{}", caught.2);
}

#[test]
fn every_var_operator_reports_the_users_line() {
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.var(Tensor::zeros(&[2, 3])), tape.var(Tensor::zeros(&[4])));
    let t = Tensor::<f64>::zeros(&[4]);
    let cases: [(u32, &dyn Fn()); 8] = [
        (line!(), &|| ignore(a + b)),
        (line!(), &|| ignore(a - b)),
        (line!(), &|| ignore(a * b)),
        (line!(), &|| ignore(a / b)),
        (line!(), &|| ignore(a + &t)),
        (line!(), &|| ignore(a - &t)),
        (line!(), &|| ignore(a * &t)),
        (line!(), &|| ignore(a / &t)),
    ];
    for (line, f) in cases {
        let caught = panic_site(f);
        assert_eq!(site(&caught), (file!().to_string(), line), "{}", caught.2);
    }
}

#[test]
fn a_mismatched_matmul_reports_the_matmul_line() {
    let tape = Tape::<f32>::new();
    let (a, b) = (tape.var(Tensor::zeros(&[2, 3])), tape.var(Tensor::zeros(&[4, 5])));
    let caught = panic_site(|| ignore(a.matmul(b)));
    assert_eq!(site(&caught), (file!().to_string(), line!() - 1), "{}", caught.2);
    assert!(caught.2.contains("matmul"), "{}", caught.2);
}

#[test]
fn a_wrong_sized_linear_in_a_sequential_reports_the_forward_line() {
    let store = ParamStore::<f32>::new(0);
    let model = Sequential::new(&store.root())
        .add(|p| Linear::new(p, 3, 8))
        .add(|_| Relu)
        .add(|p| Linear::new(p, 5, 1));
    let tape = Tape::new();
    let x = tape.constant(Tensor::zeros(&[2, 3]));
    let caught = panic_site(|| ignore(model.forward(x)));
    assert_eq!(site(&caught), (file!().to_string(), line!() - 1), "{}", caught.2);
}
