"""The clinical core: screening library, rule evaluation, document text and prep sheets. No Qt."""
