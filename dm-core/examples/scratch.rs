fn main() {
    use dm_core::model::*;
    println!(
        "Command {} Item {} ItemCommand {} Status {} Results {} Location {} Data {} Meta {}",
        std::mem::size_of::<Command>(),
        std::mem::size_of::<Item>(),
        std::mem::size_of::<ItemCommand>(),
        std::mem::size_of::<Status>(),
        std::mem::size_of::<Results>(),
        std::mem::size_of::<Location>(),
        std::mem::size_of::<Data>(),
        std::mem::size_of::<Meta>()
    );
}
