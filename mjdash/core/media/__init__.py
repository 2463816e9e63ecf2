"""Result images: fetching them safely, the on-disk cache, thumbnails, downloads."""
