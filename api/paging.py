"""One page of a query for flask-smorest's pagination: the page's items in one command, the
total for X-Pagination in another."""
from flask_smorest.pagination import PaginationParameters

# 10 a page as the task queue (flask-smorest's default); an application is about 5 KB.
PAGE_SIZE, MAX_PAGE_SIZE = 10, 100


def one_page(query, pagination_parameters: PaginationParameters) -> list:
    """The requested page of a mongoengine query, with the total set for the header."""
    pagination_parameters.item_count = query.count()
    return list(query.skip(pagination_parameters.first_item)
                .limit(pagination_parameters.page_size))
