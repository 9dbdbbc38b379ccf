"""The SQL functions, one file each, applied as repeatable migrations by db.migrate."""
