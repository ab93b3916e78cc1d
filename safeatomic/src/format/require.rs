//! Compile-time checks the derive calls: `#[persisted(format = "…")]` on a
//! format whose cargo feature is off is a `compile_error!` naming the
//! feature.
//!
//! One macro per format: empty when the format's feature is on, a
//! `compile_error!` naming the feature when it is off. The derive invokes the
//! one for the chosen format, spanned on the user's `format = "…"` literal.

#[cfg(feature = "json")]
#[doc(hidden)]
#[macro_export]
macro_rules! __safeatomic_require_json {
    () => {};
}
#[cfg(not(feature = "json"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __safeatomic_require_json {
    () => {
        ::core::compile_error!(
            "format \"json\" needs the `json` feature of safeatomic: add `features = [\"json\"]` to the safeatomic dependency in Cargo.toml"
        );
    };
}

#[cfg(feature = "yaml")]
#[doc(hidden)]
#[macro_export]
macro_rules! __safeatomic_require_yaml {
    () => {};
}
#[cfg(not(feature = "yaml"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __safeatomic_require_yaml {
    () => {
        ::core::compile_error!(
            "format \"yaml\" needs the `yaml` feature of safeatomic: add `features = [\"yaml\"]` to the safeatomic dependency in Cargo.toml"
        );
    };
}

#[cfg(feature = "toml")]
#[doc(hidden)]
#[macro_export]
macro_rules! __safeatomic_require_toml {
    () => {};
}
#[cfg(not(feature = "toml"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __safeatomic_require_toml {
    () => {
        ::core::compile_error!(
            "format \"toml\" needs the `toml` feature of safeatomic: add `features = [\"toml\"]` to the safeatomic dependency in Cargo.toml"
        );
    };
}

#[cfg(feature = "ron")]
#[doc(hidden)]
#[macro_export]
macro_rules! __safeatomic_require_ron {
    () => {};
}
#[cfg(not(feature = "ron"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __safeatomic_require_ron {
    () => {
        ::core::compile_error!(
            "format \"ron\" needs the `ron` feature of safeatomic: add `features = [\"ron\"]` to the safeatomic dependency in Cargo.toml"
        );
    };
}
