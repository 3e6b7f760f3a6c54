"""The Flask JSON API for app clients and the web page."""
