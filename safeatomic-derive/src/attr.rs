//! Parsing `#[persisted(...)]`: every mistake is reported to the [`Ctxt`]
//! and parsing goes on with the next key, so one pass finds them all.

use crate::ctxt::Ctxt;
use crate::symbol::{
    CHECKSUM, CRATE, FORMAT, KEYS, MIGRATE, MIGRATE_FROM, PERSISTED, Symbol, VALIDATE, VERSION,
    VERSION_KEY,
};
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::discouraged::Speculative;
use syn::{Attribute, Expr, ExprLit, ExprPath, Lit, LitInt, LitStr, Path, Token};

/// How `format` is written, used in errors.
const FORMAT_USAGE: &str = r#"format = "json" (or "yaml", "toml", "ron")"#;
/// How `validate` is written, used in errors.
const VALIDATE_USAGE: &str =
    "validate = path::to::check, where check is a fn(&Self) -> Result<(), E> and E: Display";
/// How `crate` is written, used in errors.
const CRATE_USAGE: &str = r#"crate = "path::to::safeatomic""#;
/// How `version` is written, used in errors.
const VERSION_USAGE: &str = "version = N, an integer from 1 (files without the key are version 1)";
/// How `version_key` is written, used in errors.
const VERSION_KEY_USAGE: &str = r#"version_key = "schema_version""#;
/// How `migrate_from` is written, used in errors.
const MIGRATE_FROM_USAGE: &str = "migrate_from = [v1::Config, v2::Config], the types of versions 1 to N - 1, each converted to the next with From";
/// How `migrate` is written, used in errors.
const MIGRATE_USAGE: &str = "migrate = [v1_to_v2, v2_to_v3], one fn(&mut Migration) -> Result<(), MigrationError> per version step";

/// A file format, as named in `format = "…"`.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) enum FormatKind {
    Json,
    Yaml,
    Toml,
    Ron,
}

impl FormatKind {
    const ALL: [Self; 4] = [Self::Json, Self::Yaml, Self::Toml, Self::Ron];

    /// The name in `format = "…"`, which is also the name of safeatomic's
    /// cargo feature for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Yaml => "yaml",
            Self::Toml => "toml",
            Self::Ron => "ron",
        }
    }

    /// The variant of `safeatomic::Format`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Json => "Json",
            Self::Yaml => "Yaml",
            Self::Toml => "Toml",
            Self::Ron => "Ron",
        }
    }

    /// The `macro_rules!` of safeatomic that fails to compile when this
    /// format's feature is off.
    pub(crate) fn require_macro(self) -> &'static str {
        match self {
            Self::Json => "__safeatomic_require_json",
            Self::Yaml => "__safeatomic_require_yaml",
            Self::Toml => "__safeatomic_require_toml",
            Self::Ron => "__safeatomic_require_ron",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// A checksum algorithm, as named in `checksum = "…"`.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) enum ChecksumKind {
    Sha256,
    Sha512,
}

impl ChecksumKind {
    const ALL: [Self; 2] = [Self::Sha256, Self::Sha512];

    /// The name in `checksum = "…"`.
    fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// The variant of `safeatomic::Algorithm`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Sha256 => "Sha256",
            Self::Sha512 => "Sha512",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// `format = "…"`: the format and the literal that named it (errors about
/// the format, and the feature check, point at the literal).
pub(crate) struct FormatAttr {
    pub(crate) kind: FormatKind,
    pub(crate) literal: LitStr,
}

/// Where the safeatomic facade is.
pub(crate) enum Crate {
    /// No `crate = …`: `::safeatomic`.
    Default,
    /// `crate = "path"`.
    Path(Path),
    /// `crate = …` was given but is unusable (already reported): the
    /// expansion cannot name anything of safeatomic.
    Invalid,
}

/// Everything the `#[persisted(...)]` attributes of a type say.
pub(crate) struct Attrs {
    /// The first `#[persisted(...)]`, for errors about the attribute as a whole.
    pub(crate) first: Option<TokenStream>,
    pub(crate) format: Option<FormatAttr>,
    pub(crate) checksum: Option<ChecksumKind>,
    pub(crate) validate: Option<ExprPath>,
    /// `version = N`: the version and its literal.
    pub(crate) version: Option<(u32, LitInt)>,
    pub(crate) version_key: Option<LitStr>,
    /// `migrate = [...]`: the steps, and the list (errors about the count
    /// point at it).
    pub(crate) migrate: Option<(Vec<ExprPath>, TokenStream)>,
    /// `migrate_from = [...]`: the older versions' types, and the list.
    pub(crate) migrate_from: Option<(Vec<syn::Type>, TokenStream)>,
    pub(crate) krate: Crate,
}

impl Attrs {
    /// Whether `attr` is one of ours.
    pub(crate) fn is_persisted(attr: &Attribute) -> bool {
        attr.path() == PERSISTED
    }
}

/// Parses every `#[persisted(...)]` in `attrs`, reporting each mistake.
pub(crate) fn get(cx: &Ctxt, attrs: &[Attribute]) -> Attrs {
    let mut parsed = Attrs {
        first: None,
        format: None,
        checksum: None,
        validate: None,
        version: None,
        version_key: None,
        migrate: None,
        migrate_from: None,
        krate: Crate::Default,
    };
    // Keys already given, in any of the attributes (a key given twice is
    // reported on its second occurrence).
    let mut seen = Vec::new();
    for attr in attrs.iter().filter(|attr| Attrs::is_persisted(attr)) {
        if parsed.first.is_none() {
            parsed.first = Some(attr.to_token_stream());
        }
        // A syntax error stops this attribute (the rest of it cannot be
        // trusted); every other mistake is reported and parsing goes on.
        let result = attr.parse_nested_meta(|meta| parse_key(cx, &mut parsed, &mut seen, &meta));
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    parsed
}

fn parse_key(
    cx: &Ctxt,
    attrs: &mut Attrs,
    seen: &mut Vec<Symbol>,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<()> {
    let Some(key) = KEYS.into_iter().find(|key| meta.path == *key) else {
        let names: Vec<&str> = KEYS.iter().map(|key| key.as_str()).collect();
        cx.error_spanned_by(
            &meta.path,
            format_args!(
                "unknown persisted attribute `{}`; expected one of {}",
                path_to_string(&meta.path),
                names.join(", "),
            ),
        );
        return skip_value(meta);
    };
    if seen.contains(&key) {
        cx.error_spanned_by(
            &meta.path,
            format_args!("duplicate persisted attribute `{key}`"),
        );
        return skip_value(meta);
    }
    seen.push(key);
    if key == FORMAT {
        parse_format(cx, attrs, meta)
    } else if key == CHECKSUM {
        parse_checksum(cx, attrs, meta)
    } else if key == VALIDATE {
        parse_validate(cx, attrs, meta)
    } else if key == VERSION {
        parse_version(cx, attrs, meta)
    } else if key == VERSION_KEY {
        parse_version_key(cx, attrs, meta)
    } else if key == MIGRATE {
        parse_migrate(cx, attrs, meta)
    } else if key == MIGRATE_FROM {
        parse_migrate_from(cx, attrs, meta)
    } else {
        debug_assert!(key == CRATE);
        parse_crate(cx, attrs, meta)
    }
}

/// `format = "json"`.
fn parse_format(cx: &Ctxt, attrs: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let Some(expr) = value(cx, meta, FORMAT, FORMAT_USAGE)? else {
        return Ok(());
    };
    let Some(literal) = string_literal(&expr) else {
        cx.error_spanned_by(
            &expr,
            format_args!(
                "format must be a string literal, one of {}",
                quoted_list(FormatKind::ALL.map(FormatKind::name)),
            ),
        );
        return Ok(());
    };
    match FormatKind::from_name(&literal.value()) {
        Some(kind) => {
            attrs.format = Some(FormatAttr {
                kind,
                literal: literal.clone(),
            });
        }
        None => cx.error_spanned_by(
            literal,
            format_args!(
                "unknown format {:?}; expected one of {}",
                literal.value(),
                quoted_list(FormatKind::ALL.map(FormatKind::name)),
            ),
        ),
    }
    Ok(())
}

/// `checksum` or `checksum = "sha512"`.
fn parse_checksum(cx: &Ctxt, attrs: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        attrs.checksum = Some(ChecksumKind::Sha256);
        return Ok(());
    }
    let expected = format!(
        "{} (a bare `checksum` means \"sha256\")",
        quoted_list(ChecksumKind::ALL.map(ChecksumKind::name)),
    );
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format_args!("expected `checksum` or `checksum = \"…\"` with one of {expected}"),
        );
        return skip_value(meta);
    }
    let expr: Expr = meta.value()?.parse()?;
    let Some(literal) = string_literal(&expr) else {
        cx.error_spanned_by(
            &expr,
            format_args!("checksum must be a string literal, one of {expected}"),
        );
        return Ok(());
    };
    match ChecksumKind::from_name(&literal.value()) {
        Some(kind) => attrs.checksum = Some(kind),
        None => cx.error_spanned_by(
            literal,
            format_args!(
                "unknown checksum algorithm {:?}; expected one of {expected}",
                literal.value(),
            ),
        ),
    }
    Ok(())
}

/// `validate = path::to::check`, or the path in a string literal.
fn parse_validate(cx: &Ctxt, attrs: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let Some(expr) = value(cx, meta, VALIDATE, VALIDATE_USAGE)? else {
        return Ok(());
    };
    if let Some(literal) = string_literal(&expr) {
        match literal.parse::<ExprPath>() {
            Ok(path) => attrs.validate = Some(path),
            Err(_) => cx.error_spanned_by(
                literal,
                format_args!(
                    "{:?} is not a path; expected {VALIDATE_USAGE}",
                    literal.value()
                ),
            ),
        }
        return Ok(());
    }
    match ungroup(&expr) {
        Expr::Path(path) if path.attrs.is_empty() => attrs.validate = Some(path.clone()),
        other => cx.error_spanned_by(
            other,
            format_args!("validate must be a path to a function; expected {VALIDATE_USAGE}"),
        ),
    }
    Ok(())
}

/// `version = 3`.
fn parse_version(cx: &Ctxt, attrs: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let Some(expr) = value(cx, meta, VERSION, VERSION_USAGE)? else {
        return Ok(());
    };
    match ungroup(&expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(literal),
            ..
        }) => match literal.base10_parse::<u32>() {
            Ok(n) if n >= 1 => attrs.version = Some((n, literal.clone())),
            _ => cx.error_spanned_by(literal, format_args!("expected {VERSION_USAGE}")),
        },
        other => cx.error_spanned_by(other, format_args!("expected {VERSION_USAGE}")),
    }
    Ok(())
}

/// `version_key = "schema_version"`.
fn parse_version_key(cx: &Ctxt, attrs: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let Some(expr) = value(cx, meta, VERSION_KEY, VERSION_KEY_USAGE)? else {
        return Ok(());
    };
    match string_literal(&expr) {
        Some(literal) if !literal.value().is_empty() => attrs.version_key = Some(literal.clone()),
        _ => cx.error_spanned_by(
            &expr,
            format_args!("version_key must be a non-empty string literal: {VERSION_KEY_USAGE}"),
        ),
    }
    Ok(())
}

/// `migrate = [v1_to_v2, v2_to_v3]`.
fn parse_migrate(cx: &Ctxt, attrs: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let Some(expr) = value(cx, meta, MIGRATE, MIGRATE_USAGE)? else {
        return Ok(());
    };
    let Expr::Array(array) = ungroup(&expr) else {
        cx.error_spanned_by(&expr, format_args!("expected {MIGRATE_USAGE}"));
        return Ok(());
    };
    let mut steps = Vec::new();
    for element in &array.elems {
        match ungroup(element) {
            Expr::Path(path) if path.attrs.is_empty() => steps.push(path.clone()),
            other => cx.error_spanned_by(
                other,
                format_args!(
                    "a migration step must be a path to a function; expected {MIGRATE_USAGE}"
                ),
            ),
        }
    }
    attrs.migrate = Some((steps, array.to_token_stream()));
    Ok(())
}

/// `migrate_from = [v1::Config, v2::Config]`.
fn parse_migrate_from(cx: &Ctxt, attrs: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format_args!("{MIGRATE_FROM} needs a value: {MIGRATE_FROM_USAGE}"),
        );
        return skip_value(meta);
    }
    let input = meta.value()?;
    let content;
    let brackets = syn::bracketed!(content in input);
    let types = syn::punctuated::Punctuated::<syn::Type, Token![,]>::parse_terminated(&content)?;
    let mut list = TokenStream::new();
    brackets.surround(&mut list, |tokens| types.to_tokens(tokens));
    attrs.migrate_from = Some((types.into_iter().collect(), list));
    Ok(())
}

/// `crate = "path"`, or the bare path.
fn parse_crate(cx: &Ctxt, attrs: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    // Until the value is known to be good, nothing of safeatomic can be named.
    attrs.krate = Crate::Invalid;
    let Some(expr) = value(cx, meta, CRATE, CRATE_USAGE)? else {
        return Ok(());
    };
    if let Some(literal) = string_literal(&expr) {
        match literal.parse::<Path>() {
            Ok(path) => attrs.krate = Crate::Path(path),
            Err(_) => cx.error_spanned_by(
                literal,
                format_args!(
                    "{:?} is not a path; expected {CRATE_USAGE}",
                    literal.value()
                ),
            ),
        }
        return Ok(());
    }
    match ungroup(&expr) {
        Expr::Path(path) if path.attrs.is_empty() && path.qself.is_none() => {
            attrs.krate = Crate::Path(path.path.clone());
        }
        other => cx.error_spanned_by(
            other,
            format_args!("crate must be the path to safeatomic; expected {CRATE_USAGE}"),
        ),
    }
    Ok(())
}

/// The `= value` after a key that needs one; `None` after reporting a
/// missing value.
fn value(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: Symbol,
    usage: &str,
) -> syn::Result<Option<Expr>> {
    if meta.input.peek(Token![=]) {
        return meta.value()?.parse().map(Some);
    }
    cx.error_spanned_by(&meta.path, format_args!("{key} needs a value: {usage}"));
    skip_value(meta)?;
    Ok(None)
}

/// Consumes whatever follows a key up to the next `,`, so parsing can go
/// on after a key whose mistake was already reported.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let input = meta.input;
    if input.peek(Token![=]) {
        // An expression may itself contain commas (`a::<B, C>`).
        let fork = input.fork();
        fork.parse::<Token![=]>()?;
        if fork.parse::<Expr>().is_ok() && (fork.is_empty() || fork.peek(Token![,])) {
            input.advance_to(&fork);
            return Ok(());
        }
    }
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((token, next)) = rest.token_tree() {
            if let TokenTree::Punct(punct) = &token
                && punct.as_char() == ','
            {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// The expression inside the invisible groups a `macro_rules!` may wrap
/// around `$value:expr`.
fn ungroup(mut expr: &Expr) -> &Expr {
    while let Expr::Group(group) = expr {
        expr = &group.expr;
    }
    expr
}

fn string_literal(expr: &Expr) -> Option<&LitStr> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(literal),
            attrs,
        }) if attrs.is_empty() => Some(literal),
        _ => None,
    }
}

/// `"a", "b", "c"`.
fn quoted_list<const N: usize>(names: [&str; N]) -> String {
    names.map(|name| format!("{name:?}")).join(", ")
}

fn path_to_string(path: &Path) -> String {
    match path.get_ident() {
        Some(ident) => ident.to_string(),
        None => path.to_token_stream().to_string().replace(' ', ""),
    }
}
