"""A client developer's whole session with the API, written against a client that
openapi-python-client generated from final/'s /openapi.json (the package `library_api_client`).

Nothing here knows the API except through the generated types: every body is built from a
generated model, every answer parsed into one (an error into a `Problem`), and mypy --strict
checks the calls. `raise_on_unexpected_status=True`: a status the spec does not list fails.
"""

from datetime import date
from typing import Any, TypeVar
from uuid import uuid4

from library_api_client import AuthenticatedClient, Client
from library_api_client.api.books import (
    create_book,
    delete_book,
    get_book,
    list_books,
    popular_books,
    replace_book,
    search_books,
    update_book,
)
from library_api_client.api.loans import create_loan, list_loans, return_loan
from library_api_client.api.users import get_me, login, logout, register, update_me
from library_api_client.models import (
    Book,
    BookCreate,
    BookPage,
    BookUpdate,
    ListBooksFilters,
    ListLoansStatus,
    Loan,
    LoanCreate,
    LoanPage,
    Login,
    PopularBooks,
    Problem,
    ProblemErrors,
    SparseBookPage,
    Token,
    User,
    UserCreate,
    UserUpdate,
)
from library_api_client.types import UNSET, Response

T = TypeVar("T")
PROBLEMS = "https://library.example/problems/"
PASSWORD = "a long enough password"


def expect(response: Response[Any], kind: type[T], status: int) -> T:
    """The parsed answer, after checking its status and its type."""
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, kind), response.content
    return response.parsed


def expect_problem(response: Response[Any], status: int, kind: str) -> Problem:
    problem = expect(response, Problem, status)
    assert problem.type_ == PROBLEMS + kind, problem
    assert problem.status == status and problem.request_id
    return problem


def sign_in(base_url: str, email: str, password: str) -> AuthenticatedClient:
    anyone = Client(base_url=base_url, raise_on_unexpected_status=True)
    token = expect(login.sync_detailed(client=anyone, body=Login(email, password)), Token, 200)
    assert token.token_type == "Bearer" and token.expires_in > 0
    return AuthenticatedClient(base_url, token.token, raise_on_unexpected_status=True)


def run(base_url: str, admin_email: str, admin_password: str) -> list[str]:
    """Every step, in order; returns their names. Fails at the first surprise."""
    steps: list[str] = []
    anyone = Client(base_url=base_url, raise_on_unexpected_status=True)
    admin = sign_in(base_url, admin_email, admin_password)

    # A member registers, logs in, reads and partly updates their account.
    email = f"grace-{uuid4().hex[:8]}@example.com"
    body = UserCreate(email=email, first_name="Grace", last_name="Hopper", password=PASSWORD)
    key = str(uuid4())  # Idempotency-Key: the retry of a registration makes no second account
    user = expect(register.sync_detailed(client=anyone, body=body, idempotency_key=key), User, 201)
    assert user.role == "member" and user.address is None
    retry = register.sync_detailed(client=anyone, body=body, idempotency_key=key)
    assert expect(retry, User, 201).id == user.id and retry.headers["Idempotent-Replayed"] == "true"
    expect_problem(register.sync_detailed(client=anyone, body=body), 409, "conflict")
    wrong = Login(email=email, password="not the password")
    expect_problem(login.sync_detailed(client=anyone, body=wrong), 401, "unauthorized")
    member = sign_in(base_url, email, PASSWORD)
    assert expect(get_me.sync_detailed(client=member), User, 200).id == user.id
    changed = expect(
        update_me.sync_detailed(client=member, body=UserUpdate(address="Arlington")), User, 200
    )
    assert (changed.address, changed.first_name) == ("Arlington", "Grace")
    steps += ["register", "retried registration", "login", "profile", "partial profile update"]

    # An admin catalogues a book, changes one field, replaces it.
    title = f"Flow {uuid4().hex[:8]}"
    new = BookCreate(
        title=title,
        author="Contract Tester",
        genre="Testing",
        age_category="Adult",
        publish_date=date(2024, 1, 2),
    )
    book = expect(create_book.sync_detailed(client=admin, body=new), Book, 201)
    assert (book.copies, book.available, book.isbn) == (1, 1, None)
    patched = expect(
        update_book.sync_detailed(book.id, client=admin, body=BookUpdate(copies=2)), Book, 200
    )
    assert (patched.copies, patched.title) == (2, title)
    # Conditional requests: revalidate a copy with its ETag; a write based on a stale read is
    # refused, so two admins never silently overwrite each other.
    etag = get_book.sync_detailed(book.id, client=anyone).headers["ETag"]
    assert get_book.sync_detailed(book.id, client=anyone, if_none_match=etag).status_code == 304
    change = BookUpdate(genre="Conditional")
    expect(update_book.sync_detailed(book.id, client=admin, body=change, if_match=etag), Book, 200)
    stale = update_book.sync_detailed(book.id, client=admin, body=change, if_match=etag)
    expect_problem(stale, 412, "precondition-failed")
    new.copies = 1
    replaced = expect(replace_book.sync_detailed(book.id, client=admin, body=new), Book, 200)
    assert replaced.copies == 1
    blank = BookUpdate(title=" ")
    problem = expect_problem(
        update_book.sync_detailed(book.id, client=admin, body=blank), 400, "validation"
    )
    assert isinstance(problem.errors, ProblemErrors)
    assert "title" in problem.errors.additional_properties
    steps += ["admin create", "admin partial update", "not modified", "stale write refused"]
    steps += ["admin replace", "validation problem"]

    # Anyone reads the catalogue: filtered, sparse, searched, ranked.
    sparse = expect(
        list_books.sync_detailed(
            client=anyone,
            filters=ListBooksFilters(author_eq="Contract Tester", copies_ge=1),
            fields="title",
            sort="-publish_date,title",
            per_page=5,
        ),
        SparseBookPage,
        200,
    )
    assert [item.title for item in sparse.data] == [title]
    assert sparse.data[0].genre is UNSET  # not asked for: not sent
    assert sparse.meta.total == 1 and sparse.links.next_ is None
    assert expect(get_book.sync_detailed(book.id, client=anyone), Book, 200).title == title
    found = expect(search_books.sync_detailed(client=anyone, q=title), BookPage, 200)
    assert [item.id for item in found.data] == [book.id]
    popular = expect(popular_books.sync_detailed(client=anyone, limit=3), PopularBooks, 200)
    assert len(popular.data) <= 3
    steps += ["list with filters and fields", "get", "search", "popular"]

    # The member borrows the only copy; nobody else can; the loan comes back.
    borrow, key = LoanCreate(book_ids=[book.id]), str(uuid4())
    loan = expect(
        create_loan.sync_detailed(client=member, body=borrow, idempotency_key=key), Loan, 201
    )
    again = create_loan.sync_detailed(client=member, body=borrow, idempotency_key=key)
    assert expect(again, Loan, 201).id == loan.id  # the first answer again, not a second loan
    assert [item.id for item in loan.books] == [book.id] and loan.return_date is None
    expect_problem(create_loan.sync_detailed(client=admin, body=borrow), 409, "no-copy-available")
    active = expect(
        list_loans.sync_detailed(client=member, status=ListLoansStatus.ACTIVE), LoanPage, 200
    )
    assert [item.id for item in active.data] == [loan.id]
    returned = expect(return_loan.sync_detailed(loan.id, client=member), Loan, 200)
    assert returned.return_date is not None
    expect_problem(return_loan.sync_detailed(loan.id, client=member), 409, "loan-returned")
    steps += [
        "borrow",
        "retried borrow",
        "no copy available",
        "list loans",
        "return",
        "loan returned",
    ]

    # The admin withdraws the book: it leaves the catalogue.
    assert delete_book.sync_detailed(book.id, client=admin).status_code == 204
    expect_problem(get_book.sync_detailed(book.id, client=anyone), 404, "not-found")
    expect_problem(create_loan.sync_detailed(client=member, body=borrow), 404, "not-found")
    steps += ["withdraw", "not found"]

    # Logging out ends the member's token.
    assert logout.sync_detailed(client=member).status_code == 204
    expect_problem(get_me.sync_detailed(client=member), 401, "unauthorized")
    steps += ["logout"]
    return steps
