"""Value lists of the OCPP 2.1 appendices (fields that are free strings in the 2.1 schemas).

Copied from the appendix CSV files (Value column only) so the app never reads the spec folder at
runtime; used by lint rule R26.
"""

from __future__ import annotations

# idToken.type (idtokenenumtype.csv)
ID_TOKEN_TYPES: frozenset[str] = frozenset(
    {
        "Central",
        "DirectPayment",
        "eMAID",
        "EVCCID",
        "ISO14443",
        "ISO15693",
        "KeyCode",
        "Local",
        "MacAddress",
        "NoAuthorization",
        "VIN",
    }
)

# connectorType (connectorenumtype.csv)
CONNECTOR_TYPES: frozenset[str] = frozenset(
    {
        "cCCS1",
        "cCCS2",
        "cChaoJi",
        "cG105",
        "cGBT-DC",
        "cLECCS",
        "cMCS",
        "cNACS",
        "cNACS-CCS1",
        "cCCS1-NACS",
        "cTesla",
        "cType1",
        "cType2",
        "cUltraChaoJi",
        "s309-1P-16A",
        "s309-1P-32A",
        "s309-3P-16A",
        "s309-3P-32A",
        "sBS1361",
        "sCEE-7-7",
        "sType1",
        "sType2",
        "sType3",
        "wInductive",
        "wResonant",
        "Other1PhMax16A",
        "Other1PhOver16A",
        "Other3Ph",
        "Pan",
        "Undetermined",
        "Unknown",
    }
)

# unitOfMeasure.unit / sampledValue unit (units_of_measure.csv)
UNITS_OF_MEASURE: frozenset[str] = frozenset(
    {
        "A",
        "ASU",
        "B",
        "Celsius",
        "dB",
        "dBm",
        "Deg",
        "Fahrenheit",
        "Hz",
        "mHz",
        "K",
        "lx",
        "m",
        "ms2",
        "N",
        "Ohm",
        "kPa",
        "Percent",
        "RH",
        "RPM",
        "s",
        "V",
        "VA",
        "kVA",
        "VAh",
        "kVAh",
        "var",
        "kvar",
        "varh",
        "kvarh",
        "W",
        "kW",
        "Wh",
        "kWh",
    }
)

# chargingLimitSource (charginglimitsourceenumtype.csv)
CHARGING_LIMIT_SOURCES: frozenset[str] = frozenset(
    {
        "EMS",
        "Other",
        "SO",
        "CSO",
    }
)

# signedMeterValue.signingMethod (signingmethod.csv)
SIGNING_METHODS: frozenset[str] = frozenset(
    {
        "ECDSA-secp192k1-SHA256",
        "ECDSA-secp256k1-SHA256",
        "ECDSA-secp192r1-SHA256",
        "ECDSA-secp256r1-SHA256",
        "ECDSA-brainpool256r1-SHA256",
        "ECDSA-secp384r1-SHA256",
        "ECDSA-brainpool384r1-SHA256",
    }
)

# additionalInfo.type (additional_info_types.csv)
ADDITIONAL_INFO_TYPES: frozenset[str] = frozenset(
    {
        "EVCCID",
        "ISO14443SubType",
    }
)
# additionalInfo.type for ad hoc payment (additional_info_types_adhoc.csv)
ADDITIONAL_INFO_TYPES_ADHOC: frozenset[str] = frozenset(
    {
        "PspRef",
        "SessionRef",
        "MerchantRef",
        "PaymentBrand",
        "ReadingMethod",
        "PaymentRecognition",
        "CardBin",
        "CardLast4Digits",
        "CardExpiryDate",
        "HashedCardNr",
        "WalletUserId",
    }
)
