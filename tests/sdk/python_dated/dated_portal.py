"""What the test portal holds besides records: its owners, given to the server in a
configuration file (HubSpot's owners are users of the portal, not written through the API)."""

OWNERS = [
    {
        "id": 41629779,
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "userId": 9586504,
    },
    {"id": 41629780, "email": "queue@example.com", "type": "QUEUE"},
]


def config_toml() -> str:
    """The `[[owners]]` of portal 1 (the portal of the server's `--token`)."""
    lines = []
    for owner in OWNERS:
        lines.append("[[owners]]")
        lines.append("portal = 1")
        for key, value in owner.items():
            lines.append(f"{key} = {value!r}" if isinstance(value, int) else f'{key} = "{value}"')
        lines.append("")
    return "\n".join(lines)
