"""Referenced apps: technical doctrine, publisher files and referencing review, public
catalogue, and the OAuth 2.0 / SMART on FHIR authorisation server (built on authlib)."""
