"""The kie.ai API: the HTTP client, what each answer means (typed outcomes), the key."""
