"""The clinical vocabulary every layer shares: the subtypes of myositis and the drugs the pathway uses.

Defined here once; scenarios are validated against it, and it imports nothing (the command line reads the
subtypes without loading the schema)."""

SUBTYPES: tuple[str, ...] = ("DM", "PM", "IMNM_HMGCR", "IMNM_SRP", "ASS", "IBM", "JDM")
SUBTYPE_NAMES: dict[str, str] = {
    "DM": "dermatomyositis",
    "PM": "polymyositis",
    "IMNM_HMGCR": "immune-mediated necrotising myopathy (anti-HMGCR)",
    "IMNM_SRP": "immune-mediated necrotising myopathy (anti-SRP)",
    "ASS": "antisynthetase syndrome",
    "IBM": "inclusion body myositis",
    "JDM": "juvenile dermatomyositis",
}
DRUGS: tuple[str, ...] = (
    "methotrexate", "azathioprine", "mycophenolate", "ciclosporin", "tacrolimus",
    "rituximab", "cyclophosphamide", "abatacept", "tocilizumab", "ivig", "placebo",
)
STEROID_SPARING_FIRST_LINE: tuple[str, ...] = ("methotrexate", "azathioprine", "mycophenolate")
