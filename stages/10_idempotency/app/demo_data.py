"""Demo data for `flask seed`: realistic enough to explore the API by hand."""

from datetime import date

DEMO_PASSWORD = "library-demo-password"


def _book(title, author, genre, age_category, publish_date):
    return {
        "title": title,
        "author": author,
        "genre": genre,
        "age_category": age_category,
        "publish_date": date.fromisoformat(publish_date),
        "copies": 3,
    }


BOOKS = [
    _book("Dune", "Frank Herbert", "Science Fiction", "Adult", "1965-08-01"),
    _book(
        "The Left Hand of Darkness", "Ursula K. Le Guin", "Science Fiction", "Adult", "1969-03-01"
    ),
    _book("A Wizard of Earthsea", "Ursula K. Le Guin", "Fantasy", "Young Adult", "1968-11-01"),
    _book("The Hobbit", "J. R. R. Tolkien", "Fantasy", "Children", "1937-09-21"),
    _book("The Fellowship of the Ring", "J. R. R. Tolkien", "Fantasy", "Adult", "1954-07-29"),
    _book("Pride and Prejudice", "Jane Austen", "Romance", "Adult", "1813-01-28"),
    _book("Emma", "Jane Austen", "Romance", "Adult", "1815-12-23"),
    _book("Nineteen Eighty-Four", "George Orwell", "Dystopian", "Adult", "1949-06-08"),
    _book("Animal Farm", "George Orwell", "Satire", "Young Adult", "1945-08-17"),
    _book("Brave New World", "Aldous Huxley", "Dystopian", "Adult", "1932-01-01"),
    _book("Fahrenheit 451", "Ray Bradbury", "Dystopian", "Young Adult", "1953-10-19"),
    _book("To Kill a Mockingbird", "Harper Lee", "Classic", "Young Adult", "1960-07-11"),
    _book("The Great Gatsby", "F. Scott Fitzgerald", "Classic", "Adult", "1925-04-10"),
    _book("Moby-Dick", "Herman Melville", "Adventure", "Adult", "1851-10-18"),
    _book("Frankenstein", "Mary Shelley", "Horror", "Adult", "1818-01-01"),
    _book("Dracula", "Bram Stoker", "Horror", "Adult", "1897-05-26"),
    _book("Jane Eyre", "Charlotte Brontë", "Classic", "Adult", "1847-10-16"),
    _book("Wuthering Heights", "Emily Brontë", "Classic", "Adult", "1847-12-01"),
    _book("The Hitchhiker's Guide to the Galaxy", "Douglas Adams", "Comedy", "Adult", "1979-10-12"),
    _book("Good Omens", "Terry Pratchett", "Comedy", "Adult", "1990-05-01"),
    _book("Matilda", "Roald Dahl", "Children's Fiction", "Children", "1988-10-01"),
    _book("Charlotte's Web", "E. B. White", "Children's Fiction", "Children", "1952-10-15"),
    _book("The Very Hungry Caterpillar", "Eric Carle", "Picture Book", "Children", "1969-06-03"),
    _book(
        "Harry Potter and the Philosopher's Stone",
        "J. K. Rowling",
        "Fantasy",
        "Children",
        "1997-06-26",
    ),
    _book("The Hunger Games", "Suzanne Collins", "Dystopian", "Young Adult", "2008-09-14"),
    _book("The Martian", "Andy Weir", "Science Fiction", "Adult", "2011-09-27"),
    _book("Neuromancer", "William Gibson", "Science Fiction", "Adult", "1984-07-01"),
    _book("The Name of the Wind", "Patrick Rothfuss", "Fantasy", "Adult", "2007-03-27"),
    _book("Beloved", "Toni Morrison", "Historical Fiction", "Adult", "1987-09-02"),
    _book(
        "One Hundred Years of Solitude",
        "Gabriel García Márquez",
        "Magical Realism",
        "Adult",
        "1967-05-30",
    ),
    _book("The Road", "Cormac McCarthy", "Post-Apocalyptic", "Adult", "2006-09-26"),
    _book("Sapiens", "Yuval Noah Harari", "Non-Fiction", "Adult", "2011-01-01"),
]


def _user(first_name, last_name, email, date_of_birth=None, address=None):
    return {
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "date_of_birth": date.fromisoformat(date_of_birth) if date_of_birth else None,
        "address": address,
    }


USERS = [
    _user("Ada", "Lovelace", "ada@example.com", "1990-12-10", "12 St James's Square, London"),
    _user("Alan", "Turing", "alan@example.com", "1992-06-23", "Hollymeade, Wilmslow"),
    _user("Grace", "Hopper", "grace@example.com", "1986-12-09"),
    _user("Katherine", "Johnson", "katherine@example.com", "1998-08-26"),
    _user("Linus", "Pauling", "linus@example.com"),
    _user("Margaret", "Hamilton", "margaret@example.com", "1996-08-17", "Cambridge, MA"),
    _user("Tim", "Berners-Lee", "tim@example.com", "2001-06-08"),
    _user("Barbara", "Liskov", "barbara@example.com", "1999-11-07"),
]

# (borrower's email, titles, loan date, returned?)
LOANS = [
    ("ada@example.com", ["Dune", "Neuromancer"], "2026-01-05", True),
    ("alan@example.com", ["Dune"], "2026-02-11", True),
    ("grace@example.com", ["The Hobbit", "Matilda"], "2026-03-02", False),
    ("katherine@example.com", ["The Martian", "Dune"], "2026-04-20", False),
    ("margaret@example.com", ["Nineteen Eighty-Four"], "2026-05-14", False),
]
