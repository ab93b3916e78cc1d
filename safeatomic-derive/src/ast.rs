//! The derive input reduced to what the expansion needs.

use crate::attr::{self, Attrs};
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident};

/// The type the derive is on.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) shape: Shape,
    pub(crate) attrs: Attrs,
    /// `#[serde(deny_unknown_fields)]`: the type refuses keys it does not
    /// declare (a schema version key among them).
    pub(crate) denies_unknown_fields: Option<Span>,
}

/// The kind of type, as far as the formats care.
#[derive(Copy, Clone)]
pub(crate) enum Shape {
    /// `struct S { a: A }`: serializes as a map (a TOML table).
    Named,
    /// `struct S(A, B);`.
    Tuple,
    /// `struct S;`.
    Unit,
    /// `enum E { … }`: a map (a TOML table) when serde tags it
    /// (`#[serde(tag = "…")]`, internally or adjacently tagged).
    Enum { tagged: bool },
    /// `union U { … }`, with the span of the `union` keyword.
    Union(Span),
}

impl Shape {
    /// "an enum", "a tuple struct", ….
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Named => "a struct with named fields",
            Self::Tuple => "a tuple struct",
            Self::Unit => "a unit struct",
            Self::Enum { tagged: false } => "an enum",
            Self::Enum { tagged: true } => "a tagged enum",
            Self::Union(_) => "a union",
        }
    }
}

impl<'a> Input<'a> {
    /// Parses the attributes (reporting their mistakes) and the shape.
    pub(crate) fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        // The type's attributes first, so their errors come first.
        let attrs = attr::get(cx, &input.attrs);
        let shape = match &input.data {
            Data::Struct(data) => {
                check_fields(cx, &data.fields);
                match data.fields {
                    Fields::Named(_) => Shape::Named,
                    Fields::Unnamed(_) => Shape::Tuple,
                    Fields::Unit => Shape::Unit,
                }
            }
            Data::Enum(data) => {
                for variant in &data.variants {
                    misplaced(cx, &variant.attrs, "an enum variant");
                    check_fields(cx, &variant.fields);
                }
                Shape::Enum {
                    tagged: serde_tagged(&input.attrs),
                }
            }
            Data::Union(data) => {
                for field in &data.fields.named {
                    misplaced(cx, &field.attrs, "a field");
                }
                Shape::Union(data.union_token.span)
            }
        };
        Input {
            ident: &input.ident,
            generics: &input.generics,
            shape,
            attrs,
            denies_unknown_fields: serde_word(&input.attrs, "deny_unknown_fields"),
        }
    }
}

fn check_fields(cx: &Ctxt, fields: &Fields) {
    for field in fields {
        misplaced(cx, &field.attrs, "a field");
    }
}

/// `#[persisted]` says how the whole type is stored: anywhere else it is a
/// mistake, not something to ignore silently.
fn misplaced(cx: &Ctxt, attrs: &[Attribute], place: &str) {
    for attr in attrs.iter().filter(|attr| Attrs::is_persisted(attr)) {
        cx.error_spanned_by(
            attr,
            format_args!("#[persisted] goes on the type, not on {place}"),
        );
    }
}

/// The top-level tokens of the type's `#[serde(...)]` attributes (a word
/// inside another item's parentheses is not one of them).
fn serde_tokens(attrs: &[Attribute]) -> Vec<proc_macro2::TokenTree> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .filter_map(|a| a.meta.require_list().ok())
        .flat_map(|list| list.tokens.clone())
        .collect()
}

/// Whether serde writes the enum as a map with its variant under a key:
/// `#[serde(tag = "…")]` (internally tagged) or with `content = "…"` too
/// (adjacently tagged).
fn serde_tagged(attrs: &[Attribute]) -> bool {
    use proc_macro2::TokenTree;
    serde_tokens(attrs).windows(2).any(|pair| {
        matches!(&pair[0], TokenTree::Ident(i) if i == "tag")
            && matches!(&pair[1], TokenTree::Punct(p) if p.as_char() == '=')
    })
}

/// Where `#[serde(word)]` says `word` (a flag such as
/// `deny_unknown_fields`), if it does.
fn serde_word(attrs: &[Attribute], word: &str) -> Option<Span> {
    use proc_macro2::TokenTree;
    serde_tokens(attrs).into_iter().find_map(|t| match t {
        TokenTree::Ident(i) if i == word => Some(i.span()),
        _ => None,
    })
}
