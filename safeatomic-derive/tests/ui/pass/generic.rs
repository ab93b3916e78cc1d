// A generic type: the impl exists for the instances that meet the trait's
// supertraits, the type's own `where` clause is kept, and no other bound
// (such as `T: Default`) is added.
use safeatomic::{Format, Persisted};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", validate = not_empty)]
struct Tagged<T>
where
    T: Debug,
{
    tag: String,
    value: T,
}

fn not_empty<T: Debug>(tagged: &Tagged<T>) -> Result<(), String> {
    if tagged.tag.is_empty() {
        return Err(format!("{:?} has an empty tag", tagged.value));
    }
    Ok(())
}

// With `T: Default` in its own bounds, the impl can see `Self: Default`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", checksum)]
struct Defaulted<T: Default> {
    value: T,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct NoDefault(u8);

fn format_of<T: Persisted>() -> Format {
    T::FORMAT
}

fn main() {
    assert_eq!(format_of::<Tagged<u32>>(), Format::Json);
    assert_eq!(format_of::<Tagged<NoDefault>>(), Format::Json);
    assert_eq!(format_of::<Defaulted<String>>(), Format::Toml);
    assert_eq!(
        Tagged { tag: String::new(), value: 3u8 }.validate(),
        Err("3 has an empty tag".to_owned()),
    );
    // The impl of `Tagged<T>` cannot know whether `T: Default`: no default.
    assert_eq!(Tagged::<u32>::default_value(), None);
    assert_eq!(Defaulted::<u32>::default_value(), Some(Defaulted { value: 0 }));
}
