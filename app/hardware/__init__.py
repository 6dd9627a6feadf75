"""Real hardware in an emulated station: USB RFID readers (pyusb) and energy meters (pymodbus).

Every device has a simulated twin in this package (`usb_sim`, `meter_sim`), so the same reading
code runs without hardware, in tests and in demos.
"""
