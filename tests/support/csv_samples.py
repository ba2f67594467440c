"""A CSV as spreadsheets export it, with every kind of row an import must handle, and what it must say of them."""

GOOD = ["good1@example.com", "good2@example.com", "spaced@example.com"]
# Excel style: byte-order mark, CRLF line ends, a header in its own capitals, a quoted name with a line break in it.
EXCEL_CSV = (
    "\ufeffEmail,Name,TimeZone\r\n"  # line 1
    "good1@example.com,Good One,Europe/Paris\r\n"  # 2
    "not-an-address,Bad,UTC\r\n"  # 3
    '"crlf@example.com","Evil\r\nBcc: x@example.com",UTC\r\n'  # 4-5
    "good2@example.com,,\r\n"  # 6
    "GOOD1@example.com,Dup,UTC\r\n"  # 7: good1 again
    "confirmed-before@example.com,Renamed,UTC\r\n"  # 8
    "pending-before@example.com,,\r\n"  # 9
    "left-before@example.com,,\r\n"  # 10
    "bounced@example.com,,\r\n"  # 11
    "badzone@example.com,,Mars/Olympus\r\n"  # 12
    "\r\n"  # 13: blank, ignored
    "  spaced@example.com  ,  Spaced  ,\r\n"  # 14
)
BAD_LINES = {
    3: "email address is not valid",
    4: "line breaks",
    7: "appears earlier in this file",
    12: "Unknown time zone",
}
