"""Routes, one blueprint per resource: parse, call the domain, return; none imports another."""
