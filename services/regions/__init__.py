"""Administrative divisions (GB/T 2260): the province, its cities and counties."""
