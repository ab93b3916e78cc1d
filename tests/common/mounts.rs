//! Loop-mounted real filesystems for the root-only tests.
