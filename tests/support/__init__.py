"""Shared test helpers: a real registry (`registry`) and images built without Docker (`oci_images`)."""
