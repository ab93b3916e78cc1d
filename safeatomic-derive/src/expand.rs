//! Turning a checked [`Input`] into the impl, or the errors into
//! `compile_error!`s plus a stub impl.

use crate::ast::{Input, Shape};
use crate::attr::{Crate, FormatAttr};
use crate::ctxt::Ctxt;
use crate::valid;
use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, WhereClause, parse_quote};

/// The whole expansion of `#[derive(Persisted)]`.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, input);
    let format = valid::check(&cx, &input);
    let facade = facade(&input);
    match (cx.check(), format, facade) {
        (Ok(()), Some(format), Some(facade)) => impl_persisted(&input, format, &facade),
        // With no error, `valid::check` returns a format and the facade is
        // usable: this arm has errors to show.
        (result, _, facade) => {
            // The errors, and an impl so that the type's uses elsewhere
            // (`Store<Config>`) do not add "`Persisted` is not implemented"
            // errors for the same mistake.
            let mut tokens = result
                .err()
                .map_or_else(TokenStream::new, syn::Error::into_compile_error);
            if let Some(facade) = facade {
                tokens.extend(stub(&input, &facade));
            }
            tokens
        }
    }
}

/// The path of the safeatomic facade; `None` when `crate = …` was given
/// but unusable (an error already reported), so that nothing is named
/// through a path that is probably wrong.
fn facade(input: &Input<'_>) -> Option<TokenStream> {
    match &input.attrs.krate {
        Crate::Default => Some(quote!(::safeatomic)),
        Crate::Path(path) => Some(path.to_token_stream()),
        Crate::Invalid => None,
    }
}

fn impl_persisted(input: &Input<'_>, format: &FormatAttr, facade: &TokenStream) -> TokenStream {
    let private = quote!(#facade::__private);
    let ident = input.ident;
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let where_clause = where_clause(input, &private);

    // The feature check, spanned on the literal so that "needs the `yaml`
    // feature" points at `"yaml"`.
    let span = format.literal.span();
    let require_macro = Ident::new(format.kind.require_macro(), span);
    let facade_at_literal = respan(facade.clone(), span);
    let require_feature = quote_spanned!(span=> #facade_at_literal::#require_macro! {});

    let variant = Ident::new(format.kind.variant(), Span::call_site());
    let checksum = input.attrs.checksum.map(|algorithm| {
        let variant = Ident::new(algorithm.variant(), Span::call_site());
        quote! {
            const CHECKSUM: #private::Option<#private::Algorithm> =
                #private::Option::Some(#private::Algorithm::#variant);
        }
    });
    let validate = input.attrs.validate.as_ref().map(|path| {
        // Spanned on the path, all of it: a function of the wrong type, or
        // an error type without `Display`, is reported there alone.
        let span = path.span();
        let private = respan(private.clone(), span);
        let call = quote_spanned!(span=> #private::validation_message(#path(self)));
        quote! {
            fn validate(&self) -> #private::Result<(), #private::String> {
                #call
            }
        }
    });

    let schema = input.attrs.version.as_ref().map(|(version, _)| {
        let key = input
            .attrs
            .version_key
            .as_ref()
            .map_or_else(|| "schema_version".to_owned(), syn::LitStr::value);
        // Each step spanned on its path: a function of another type is
        // reported there.
        let steps = input
            .attrs
            .migrate
            .iter()
            .flat_map(|(steps, _)| steps)
            .map(|path| {
                let span = path.span();
                let private = respan(private.clone(), span);
                quote_spanned!(span=> #path as #private::MigrationStep)
            });
        match &input.attrs.migrate_from {
            None => quote! {
                const SCHEMA: #private::Option<#private::Schema> = #private::Option::Some(
                    #private::Schema::new(#version, #key, &[#(#steps),*]),
                );
            },
            Some((types, _)) => {
                // Version k's file is read as the k-th type, then each type
                // converted to the next with `From`, up to `Self`.
                let arms = (0..types.len()).map(|k| {
                    let from = u32::try_from(k + 1).expect("fewer versions than u32::MAX");
                    let first = &types[k];
                    let later = &types[k + 1..];
                    quote! {
                        #from => #private::Option::Some(#private::read_as::<#first, Self>(
                            <Self as #private::Persisted>::FORMAT,
                            bytes,
                            path,
                            |v: #first| -> Self {
                                #( let v: #later = ::core::convert::From::from(v); )*
                                ::core::convert::From::from(v)
                            },
                        )),
                    }
                });
                quote! {
                    const SCHEMA: #private::Option<#private::Schema> = #private::Option::Some(
                        #private::Schema::typed(#version, #key),
                    );
                    fn migrate_from(
                        from: u32,
                        bytes: &[u8],
                        path: &#private::Path,
                    ) -> #private::Option<#private::Result<(Self, #private::OldValue), #private::Error>> {
                        match from {
                            #(#arms)*
                            _ => #private::Option::None,
                        }
                    }
                }
            }
        }
    });

    quote! {
        #[doc(hidden)]
        const _: () = {
            #require_feature

            #[automatically_derived]
            impl #impl_generics #private::Persisted for #ident #ty_generics #where_clause {
                const FORMAT: #private::Format = #private::Format::#variant;
                #checksum
                #schema
                #validate
                fn default_value() -> #private::Option<Self> {
                    use #private::{ViaDefault as _, ViaNone as _};
                    // Autoref specialisation: `ViaDefault` is implemented
                    // for `&DefaultProbe<Self>` when `Self: Default`, and
                    // its method takes `&&DefaultProbe<Self>`, exactly the
                    // receiver, so it wins; otherwise one auto-deref
                    // reaches `ViaNone`, implemented for `DefaultProbe<Self>`.
                    (&&#private::DefaultProbe::<Self>(#private::PhantomData)).__safeatomic_default()
                }
            }
        };
    }
}

/// A do-nothing impl emitted next to errors (with the `Format::Json` that
/// needs no feature check). Skipped for a union: it cannot meet the
/// supertraits, so it would add errors instead of saving them.
fn stub(input: &Input<'_>, facade: &TokenStream) -> TokenStream {
    if let Shape::Union(_) = input.shape {
        return TokenStream::new();
    }
    let private = quote!(#facade::__private);
    let ident = input.ident;
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let where_clause = where_clause(input, &private);
    quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #private::Persisted for #ident #ty_generics #where_clause {
                const FORMAT: #private::Format = #private::Format::Json;
            }
        };
    }
}

/// The type's own `where` clause, plus, for a generic type, the trait's
/// supertraits on `Self`: the impl then exists exactly for the instances
/// that can have it, and no other bound is added.
fn where_clause(input: &Input<'_>, private: &TokenStream) -> Option<WhereClause> {
    let mut clause = input.generics.where_clause.clone();
    if !input.generics.params.is_empty() {
        let ident = input.ident;
        let (_, ty_generics, _) = input.generics.split_for_impl();
        clause
            .get_or_insert_with(|| parse_quote!(where))
            .predicates
            .push(parse_quote! {
                #ident #ty_generics: #private::Serialize
                    + #private::DeserializeOwned
                    + ::core::clone::Clone
                    + ::core::marker::Send
                    + ::core::marker::Sync
                    + 'static
            });
    }
    clause
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
