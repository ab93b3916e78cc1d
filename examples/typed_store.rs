//! A typed store: a `#[derive(Persisted)]` struct kept in a JSON file with a
//! checksum sidecar and a validation hook. Load (the default when the file
//! is absent), update through a closure, a fallible update that writes
//! nothing when it fails, replace, a refused invalid value, clones sharing
//! one cache, and a corrupt file.
//!
//! Run with `cargo run --example typed_store`.

use safeatomic::{CorruptPolicy, Persisted, Store, StoreOptions, verify_checksum};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// A shopping cart. `checksum`: every update also writes `cart.json.sha256`
/// and every read verifies it. `validate`: checked before anything is written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum, validate = Cart::check)]
struct Cart {
    items: Vec<Item>,
    coupon: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
}

impl Cart {
    /// Refuses carts the shop cannot fulfil: nothing invalid reaches the disk.
    fn check(&self) -> Result<(), String> {
        if let Some(item) = self.items.iter().find(|i| i.quantity == 0) {
            return Err(format!("{} has quantity 0", item.sku));
        }
        if self.items.len() > 3 {
            return Err(format!("{} items, at most 3 allowed", self.items.len()));
        }
        Ok(())
    }
}

/// The error of a fallible update closure.
#[derive(Debug)]
enum CartError {
    UnknownCoupon(String),
    Store(safeatomic::Error),
}

impl std::fmt::Display for CartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CartError::UnknownCoupon(code) => write!(f, "unknown coupon {code}"),
            CartError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CartError {}

impl From<safeatomic::Error> for CartError {
    fn from(e: safeatomic::Error) -> Self {
        CartError::Store(e)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("cart.json");

    // 1. Open reads nothing; load of an absent file is the type's Default.
    let store = Store::<Cart>::open(&path)?;
    println!("== load");
    println!("{} exists: {}", name(&path), path.exists());
    println!("load: {:?}", store.load()?);

    // 2. update: takes cart.json.lock, reloads if the file changed, runs the
    //    closure on a copy, validates, commits atomically and durably (data
    //    and sidecar), releases the lock; returns what the closure returned.
    let count = store.update(|cart| {
        cart.items.push(Item {
            sku: "tea".into(),
            quantity: 2,
        });
        cart.items.len()
    })?;
    println!("\n== update");
    println!("items after update: {count}");
    print!(
        "{} on disk:\n{}",
        name(&path),
        std::fs::read_to_string(&path)?
    );
    println!("sidecar verifies: {}", verify_checksum(&path)?);

    // 3. try_update: a closure that can fail. On Err nothing is written and
    //    the error comes back as it is; store errors convert with From.
    println!("\n== try_update");
    let before = std::fs::read(&path)?;
    let result = store.try_update(|cart| -> Result<(), CartError> {
        let code = "FREE-EVERYTHING";
        if code != "WELCOME10" {
            return Err(CartError::UnknownCoupon(code.into()));
        }
        cart.coupon = Some(code.into());
        Ok(())
    });
    match result {
        Err(CartError::UnknownCoupon(code)) => println!("refused coupon {code}"),
        other => return Err(format!("expected UnknownCoupon, got {other:?}").into()),
    }
    println!("file unchanged: {}", std::fs::read(&path)? == before);
    let coupon = store.try_update(|cart| -> Result<Option<String>, CartError> {
        cart.coupon = Some("WELCOME10".into());
        Ok(cart.coupon.clone())
    });
    println!("accepted coupon {}", coupon?.unwrap_or_default());

    // 4. Validation: an invalid value is refused with ErrorKind::Validation,
    //    whether it comes from update or replace; nothing is written.
    println!("\n== validation");
    let err = store
        .update(|cart| {
            cart.items.push(Item {
                sku: "mug".into(),
                quantity: 0,
            })
        })
        .unwrap_err();
    println!("update adding a 0-quantity item: {:?}", err.kind());
    println!("  {}", redact(&err, dir.path()));
    let too_many = Cart {
        items: ["a", "b", "c", "d"]
            .iter()
            .map(|sku| Item {
                sku: (*sku).into(),
                quantity: 1,
            })
            .collect(),
        coupon: None,
    };
    let err = store.replace(too_many).unwrap_err();
    println!("replace with 4 items: {:?}", err.kind());
    println!("items still: {:?}", skus(&store.load()?));

    // 5. replace: write a whole new value (validated), under the lock.
    store.replace(Cart {
        items: vec![Item {
            sku: "coffee".into(),
            quantity: 1,
        }],
        coupon: None,
    })?;
    println!("\n== replace");
    println!("items now: {:?}", skus(&store.load()?));

    // 6. Clones share one cache: a load after the clone's update costs one
    //    stat and returns the very same Arc. A store opened separately on
    //    the same file has its own cache, but sees the same value.
    println!("\n== clones");
    let clone = store.clone();
    clone.update(|cart| cart.items[0].quantity = 3)?;
    let a = store.load_shared()?;
    let b = clone.load_shared()?;
    println!(
        "store and its clone share the value: {}",
        Arc::ptr_eq(&a, &b)
    );
    let other = Store::<Cart>::open(&path)?;
    let c = other.load_shared()?;
    println!(
        "separately opened store: same Arc {}, equal value {}",
        Arc::ptr_eq(&a, &c),
        a == c
    );

    // 7. A corrupt file: changed behind the store's back, it fails its
    //    checksum. The default policy reports it and leaves the file alone;
    //    CorruptPolicy::MoveAside moves it aside (never deleting it) and
    //    starts from the default.
    println!("\n== corruption");
    std::fs::write(&path, r#"{"items":[],"coupon":"HACKED"}"#)?;
    let err = store.load().unwrap_err();
    println!("load with the default policy: {:?}", err.kind());
    let forgiving = Store::<Cart>::open_with(
        &path,
        StoreOptions::new().on_corrupt(CorruptPolicy::MoveAside),
    )?;
    println!("load with MoveAside: {:?}", forgiving.load()?);
    let mut aside: Vec<String> = std::fs::read_dir(dir.path())?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cart.json.corrupt-"))
        .collect();
    aside.sort();
    // The names end in a timestamp: print only their shape. The sidecar
    // goes aside with the data it describes.
    let shapes: Vec<String> = aside
        .iter()
        .map(|n| match n.strip_suffix(".sha256") {
            Some(_) => "cart.json.corrupt-<timestamp>.sha256".to_owned(),
            None => "cart.json.corrupt-<timestamp>".to_owned(),
        })
        .collect();
    println!(
        "moved aside: {}; cart.json exists: {}",
        shapes.join(", "),
        path.exists()
    );
    store.update(|cart| cart.coupon = Some("WELCOME10".into()))?;
    println!("updated again: {:?}", store.load()?);
    Ok(())
}

fn skus(cart: &Cart) -> Vec<String> {
    cart.items
        .iter()
        .map(|i| format!("{} x{}", i.sku, i.quantity))
        .collect()
}

/// An error's message with the temporary directory shown as `<tmp>`.
fn redact(e: &safeatomic::Error, dir: &Path) -> String {
    e.to_string().replace(&dir.display().to_string(), "<tmp>")
}

/// The file name only: the temporary directory differs on every run.
fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
