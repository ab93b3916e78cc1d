use safeatomic::Persisted;

#[derive(Persisted)]
#[persisted(format = "json")]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
